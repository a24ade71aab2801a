"""Operations: /healthz, /metrics (scraped over loopback HTTP), and what logs may hold."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.app import CrmBot
from bot.chat.base import DeliveryError
from bot.logs import setup_logging
from bot.observability import BotMetrics
from bot.server import build_http_app
from storage import migrate
from storage.db import Database, make_engine
from storage.ingest_sql import table
from storage.models import Contact
from tests.conftest import BotHarness, RecordingAdapter, make_config, mention
from tests.test_webhooks import served


@dataclass
class FlakyAdapter(RecordingAdapter):
    """A recording adapter whose platform connection can be down."""

    up: bool = True

    async def healthy(self) -> bool:
        return self.up


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_metrics_are_scraped_over_http(harness: BotHarness) -> None:
    h = harness
    h.bot.ingest([mention("the app is down"), mention("pricing for the enterprise plan?")])
    h.bot.ingest([mention("hello there")])  # the default channel
    await h.deliver()
    h.adapter.failures.append(DeliveryError("Slack chat.postMessage: unreachable (TimeoutError)"))
    h.adapter.failures.append(DeliveryError("Slack chat.postMessage: rate limited", 3.0))
    h.bot.ingest([mention("down again"), mention("also down")])
    await h.deliver()
    h.clock.advance(seconds=90)
    async with served(build_http_app(h.bot)) as base, httpx.AsyncClient() as client:
        response = await client.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = _samples(response.text)
    assert got[("crmbot_ingested_total", ())] == 5
    assert got[("crmbot_delivery_seconds_count", (("platform", "console"),))] == 3
    assert got[("crmbot_delivery_errors_total", (("kind", "unreachable"),))] == 1
    assert got[("crmbot_delivery_errors_total", (("kind", "rate_limited"),))] == 1
    assert got[("crmbot_outbox_depth", ())] == 2
    assert got[("crmbot_outbox_oldest_age_seconds", ())] == 90
    assert got[("crmbot_dead_letters", ())] == 0
    # SQLite: the one process leads; PostgreSQL: not until it holds the advisory lock
    assert got[("crmbot_leader", ())] == (1 if h.bot.db.engine.dialect.name == "sqlite" else 0)


async def test_each_bot_has_its_own_registry(harness: BotHarness) -> None:
    harness.bot.ingest([mention("the app is down")])
    fresh = BotMetrics(harness.bot.db, harness.clock.now)
    assert b"crmbot_ingested_total 1.0" in harness.bot.metrics.exposition()
    assert b"crmbot_ingested_total 0.0" in fresh.exposition()


async def test_healthz_names_what_is_down(sqlite_url: str) -> None:
    slack, console = FlakyAdapter(platform="slack"), FlakyAdapter(platform="console")
    bot = CrmBot(sqlite_url, make_config(), [slack, console])
    try:
        app = build_http_app(bot)
        async with served(app) as base, httpx.AsyncClient() as client:
            healthy = await client.get(f"{base}/healthz")
            slack.up = False
            chat_down = await client.get(f"{base}/healthz")
            slack.up = True
            bot.db.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
            db_down = await client.get(f"{base}/healthz")
    finally:
        bot.ingestor.close()
    assert healthy.status_code == 200
    assert healthy.json() == {
        "ok": True,
        "database": "ok",
        "chat": {"slack": "ok", "console": "ok"},
        "outbox_pending": 0,
    }
    assert chat_down.status_code == 503
    assert chat_down.json()["down"] == ["chat:slack"]
    assert chat_down.json()["chat"] == {"slack": "down", "console": "ok"}
    assert db_down.status_code == 503
    assert db_down.json()["down"] == ["database"] and db_down.json()["database"] == "down"


def test_a_failed_insert_never_logs_its_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = Database(database_url)
    migrate.upgrade(db)
    row = {
        "crm": "hubspot",
        "external_id": "c-1",
        "email": "jane.roe@example.com",
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    with db.transaction() as conn:
        conn.execute(insert(table(Contact)).values(**row))
    failure: IntegrityError | None = None
    try:
        with db.transaction() as conn:
            conn.execute(insert(table(Contact)).values(**row))  # the same contact again
    except IntegrityError as exc:
        failure = exc
        logging.getLogger("crmbot.test").exception("storing the contact failed")
    db.dispose()
    assert failure is not None and "jane.roe" not in str(failure)
    assert "storing the contact failed" in caplog.text
    assert "IntegrityError" in caplog.text
    assert "jane.roe" not in caplog.text


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("slack_sdk", "sqlalchemy")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_library_loggers_stay_at_info_unless_asked(root_logging: None) -> None:
    setup_logging("DEBUG")
    assert logging.getLogger("bot.dispatcher").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("slack_sdk").isEnabledFor(logging.INFO)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    setup_logging("DEBUG", libraries="debug")
    assert logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.DEBUG)


def test_json_log_lines(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", fmt="json")
    logging.getLogger("bot.runner").info("crmbot running on port %d", 8080)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "crmbot running on port 8080"
    assert record["level"] == "INFO" and record["name"] == "bot.runner"
