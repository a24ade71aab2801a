"""`crmbot outbox list|retry|drop`: an admin acts on messages that did not go out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.app import CrmBot
from bot.chat.base import DeliveryError
from bot.cli import app
from handlers.cards import AlertCard
from handlers.clock import FakeClock
from storage.models import Outbox
from storage.outbox_types import OutboxStatus
from tests.conftest import RecordingAdapter, make_config, mention
from tests.test_cli import crmbot


class MissingChannel(RecordingAdapter):
    """Slack answers channel_not_found for #support until ``fixed``."""

    fixed: bool = False

    async def post(self, destination, card, thread):
        if destination == "support" and not self.fixed:
            raise DeliveryError("Slack chat.postMessage: channel_not_found", permanent=True)
        return await super().post(destination, card, thread)


@pytest.fixture
def dead_letter(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A bot whose alert to #support was dead-lettered; the CLI reads the same file."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CRMBOT_CONFIG", str(tmp_path / "none.toml"))
    clock = FakeClock(datetime.now(UTC) - timedelta(hours=2))
    adapter = MissingChannel()
    bot = CrmBot(sqlite_url, make_config(), [adapter], clock=clock)
    yield bot, adapter, clock
    bot.ingestor.close()
    bot.db.dispose()


def _outbox(bot: CrmBot) -> list[Outbox]:
    with Session(bot.db.engine) as s:
        return list(s.exec(select(Outbox).where(Outbox.destination == "support")).all())


def _alerts_to_support(adapter: RecordingAdapter) -> int:
    return sum(
        1 for p in adapter.posts if p.destination == "support" and isinstance(p.card, AlertCard)
    )


async def test_a_dead_row_is_listed_with_its_error_and_retry_posts_it(dead_letter) -> None:
    bot, adapter, clock = dead_letter
    bot.ingest([mention("site down")])
    await bot.dispatcher.drain()
    (row,) = _outbox(bot)
    assert row.status == "dead"
    runner = CliRunner()
    listed = runner.invoke(app, ["outbox", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if f" {row.id} " in x)
    assert "dead" in line and "alert" in line and "console:support" in line
    assert "channel_not_found" in line and "2h" in line
    assert (
        "channel_not_found"
        not in runner.invoke(app, ["outbox", "list", "--status", "pending"]).output
    )

    adapter.fixed = True  # the admin invited the bot to the channel
    retried = runner.invoke(app, ["outbox", "retry", str(row.id)])
    assert retried.exit_code == 0, retried.output
    assert f"requeued 1 rows: {row.id}" in retried.output
    (row,) = _outbox(bot)
    assert (row.status, row.attempts) == ("pending", 1)  # attempts kept
    clock.set(datetime.now(UTC))
    await bot.dispatcher.drain()
    assert _alerts_to_support(adapter) == 1
    assert _outbox(bot)[0].status == "sent"
    again = runner.invoke(app, ["outbox", "retry", str(row.id)])
    assert "requeued 0 rows" in again.output and "left alone" in again.output
    await bot.dispatcher.drain()
    assert _alerts_to_support(adapter) == 1  # a sent row is never posted again


async def test_dropped_rows_are_kept_and_never_posted(dead_letter) -> None:
    bot, adapter, clock = dead_letter
    bot.ingest([mention("site down"), mention("app not working")])
    await bot.dispatcher.drain()
    assert [r.status for r in _outbox(bot)] == ["dead", "dead"]
    runner = CliRunner()
    refused = runner.invoke(app, ["outbox", "drop", "--all-dead"], input="n\n")
    assert refused.exit_code == 1 and [r.status for r in _outbox(bot)] == ["dead", "dead"]
    dropped = runner.invoke(app, ["outbox", "drop", "--all-dead", "--yes"])
    assert dropped.exit_code == 0, dropped.output
    assert "dropped 2 rows" in dropped.output
    assert [r.status for r in _outbox(bot)] == ["dropped", "dropped"]
    adapter.fixed = True
    clock.set(datetime.now(UTC) + timedelta(days=1))
    await bot.dispatcher.drain()
    assert _alerts_to_support(adapter) == 0
    assert "nothing waiting" in runner.invoke(app, ["outbox", "list"]).output
    everything = runner.invoke(app, ["outbox", "list", "--status", "all"], env={"COLUMNS": "200"})
    assert everything.output.count(" dropped ") == 2


def test_an_unknown_id_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'o.db'}"}
    assert crmbot("db", "upgrade", env=env).returncode == 0
    out = crmbot("outbox", "retry", "41", "42", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "no outbox row 41, 42" in out.stderr and "nothing changed" in out.stderr
    assert crmbot("outbox", "drop", "7", "--yes", env=env).returncode == 1
    neither = crmbot("outbox", "retry", env=env)
    assert neither.returncode == 2 and "--all-dead" in neither.stderr


def test_outbox_list_refuses_to_invent_an_empty_database(tmp_path: Path) -> None:
    out = crmbot("outbox", "list", cwd=tmp_path, env={"CRMBOT_CONFIG": str(tmp_path / "x.toml")})
    assert out.returncode == 2 and "no database at" in out.stderr
    assert list(tmp_path.iterdir()) == []


async def test_requeue_and_drop_are_set_based_on_every_database(database_url: str) -> None:
    from storage import outbox as outbox_store

    troubles = (OutboxStatus.DEAD, OutboxStatus.PENDING)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    adapter = MissingChannel()
    bot = CrmBot(database_url, make_config(), [adapter], clock=clock)
    bot.ingest([mention("site down"), mention("app not working"), mention("hello @acme")])
    await bot.dispatcher.drain()
    with bot.db.session() as session:
        dead = outbox_store.dead_ids(session)
        listed = [r.id for r in outbox_store.troubled(session, troubles, 10)]
        assert listed == sorted(dead, reverse=True) and len(dead) == 2
        assert outbox_store.drop(session, [*dead, 999]) == dead
    with bot.db.session() as session:
        assert outbox_store.troubled(session, troubles, 10) == []
        assert outbox_store.requeue(session, dead, clock.now()) == dead
    adapter.fixed = True
    await bot.dispatcher.drain()
    assert _alerts_to_support(adapter) == 2
    bot.ingestor.close()
    bot.db.dispose()
