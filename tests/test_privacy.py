"""Forgetting an author: `/crm admin forget`, `crmbot forget`, and what stays behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, MetaData, String, Text, create_engine, select
from sqlmodel import select as sql_select

from bot.app import CrmBot
from handlers.clock import FakeClock
from handlers.events import Actor
from storage.audit import AuditEntry, subject_digest
from tests.conftest import (
    TEST_CONFIG,
    BotHarness,
    RecordingAdapter,
    crm_event,
    make_config,
    mention,
    settle,
)
from tests.test_cli import crmbot

ADMIN_CONFIG = TEST_CONFIG + '\n[roles]\nadmins = ["console:lead"]\n'
HANDLE = "jroe"
EMAIL = "jane.roe@roestudio.example"
NAME = "Jane Roe"
TEXT = "Photosync keeps dropping my albums, it is down again since Tuesday"
SECRETS = (HANDLE, EMAIL.lower(), NAME.lower(), "photosync keeps dropping")


@pytest.fixture
def admin_harness(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(ADMIN_CONFIG), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


async def _story(h: BotHarness) -> None:
    """Jane is a CRM contact and posts twice; someone else names her; staff answer her."""
    h.bot.ingest(
        [
            crm_event(
                "contact_updated",
                contact_id="hs-501",
                contact_name=NAME,
                contact_email=EMAIL,
                contact_handles=(HANDLE,),
                company="Roe Studio",
                summary=f"{NAME} <{EMAIL}> updated her plan",
                properties={"email": EMAIL, "twitterhandle": HANDLE},
            )
        ]
    )
    h.bot.ingest(
        [
            mention(
                TEXT,
                author_handle=HANDLE,
                author_name=NAME,
                author_email=EMAIL,
                url=f"https://twitter.example/{HANDLE}/status/1",
            )
        ]
    )
    h.bot.ingest([mention(f"@{HANDLE} same here, the sync is down for me too")])
    await settle(h)
    h.clock.advance(minutes=5)
    h.say("claim 2", "ana")
    h.say(f"reply 2 Sorry {NAME}, we are on it (@{HANDLE})", "ana")
    h.clock.advance(minutes=30)
    h.say("resolve 2", "ana")
    h.bot.ingest([mention("still down?", author_handle=HANDLE, author_name=NAME)])
    await settle(h)


def _texts_holding(url: str, secrets: tuple[str, ...]) -> list[str]:
    """Every text-like cell of every table (reflected, so new tables count too) that holds
    one of ``secrets``: 'table.column=value'."""
    engine = create_engine(url)
    found: list[str] = []
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                columns = [
                    c for c in table.columns if isinstance(c.type, String | Text | JSON)
                ] or list(table.columns)
                for row in conn.execute(select(*columns)):
                    for column, value in zip(columns, row, strict=True):
                        shown = str(value).lower()
                        if any(s in shown for s in secrets):
                            found.append(f"{table.name}.{column.name}={value!r}")
    finally:
        engine.dispose()
    return found


def _metrics(h: BotHarness) -> tuple[str, object]:
    reply = h.exec("metrics 7d")
    return reply.text, reply.tables


async def test_admin_forget_erases_every_trace_and_keeps_the_counts(
    admin_harness: BotHarness, database_url: str
) -> None:
    h = admin_harness
    await _story(h)
    assert _texts_holding(database_url, SECRETS), "the story must store the personal data"
    before = _metrics(h)
    queue_before = h.say("queue")

    reply = h.exec(f"admin forget @{HANDLE}")

    assert reply.text.startswith(f"Forgot @{HANDLE}: 1 author records, 2 mentions")
    assert "Counts and metrics are kept." in reply.text
    assert _texts_holding(database_url, SECRETS) == []
    assert _metrics(h) == before
    assert h.say("queue").split(" (")[0] == queue_before.split(" (")[0]
    assert "[erased]" in h.say("show 2")
    with h.bot.db.session() as session:
        (entry,) = session.exec(sql_select(AuditEntry)).all()
    assert entry.actor == "console:lead (@lead)" and entry.action == "forget"
    assert entry.subject == subject_digest(None, HANDLE)
    assert entry.detail["mentions"] == 2


async def test_only_admins_may_forget(admin_harness: BotHarness, database_url: str) -> None:
    h = admin_harness
    await _story(h)
    reply = h.exec(f"admin forget {HANDLE}", user="ana")
    assert reply.text.startswith("Only admins can erase an author's data.")
    assert _texts_holding(database_url, (HANDLE,))


async def test_forget_on_one_platform_leaves_the_same_handle_elsewhere(
    admin_harness: BotHarness,
) -> None:
    h = admin_harness
    h.bot.ingest([mention("hello from mastodon", platform="mastodon", author_handle=HANDLE)])
    h.bot.ingest([mention("hello from twitter", author_handle=HANDLE)])
    reply = h.exec(f"admin forget {HANDLE} mastodon")
    assert reply.text.startswith(f"Forgot @{HANDLE} on mastodon: 1 author records, 1 mentions")
    with h.bot.db.engine.connect() as conn:
        texts = sorted(t for (t,) in conn.exec_driver_sql("SELECT text FROM mention"))
    assert texts == ["[erased]", "hello from twitter"]


def test_cli_forget(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    bot = CrmBot(url, make_config(), [RecordingAdapter()], clock=clock)
    bot.ingest([mention(TEXT, author_handle=HANDLE, author_name=NAME)])
    bot.command(Actor("console", "ana", "ana"), "claim 1")
    bot.ingestor.close()
    bot.db.dispose()

    out = crmbot("forget", f"@{HANDLE}", env={"DATABASE_URL": url})
    unknown = crmbot("forget", "nobody-here", env={"DATABASE_URL": url})

    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Forgot @{HANDLE}: 1 author records, 1 mentions")
    assert _texts_holding(url, SECRETS) == []
    assert unknown.returncode == 1
    assert "Nothing stored for @nobody-here" in unknown.stdout
    engine = create_engine(url)
    with engine.connect() as conn:
        actors = [a for (a,) in conn.exec_driver_sql("SELECT actor FROM audit_log ORDER BY id")]
    engine.dispose()
    assert len(actors) == 2 and all(a.startswith("cli:") for a in actors)
