"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set),
a bot on a recording chat adapter with an injected clock, and event builders."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.app import CrmBot
from bot.chat.base import ChatAdapter, DeliveryError, PostedRef
from bot.config_loader import load_config_text
from handlers.cards import AlertCard, Card, StatusCard, SuggestionCard
from handlers.clock import FakeClock
from handlers.config import CrmbotConfig
from handlers.events import Actor, CrmEvent, Mention
from handlers.replies import Reply
from tests.fakes.openai_api import FakeOpenAI

PG_URL = os.environ.get("TEST_DATABASE_URL")

TEST_CONFIG = """
[alerts]
default_channel = "social"
reopen_window = "24h"

[channels.social]
[channels.support]
[channels.sales]

[[rules]]
name = "outage"
keywords = ["down", "outage", "not working"]
severity = "high"
labels = { team = "support" }

[[rules]]
name = "pricing"
keywords = ["pricing", "enterprise plan"]
labels = { team = "sales" }

[[rules]]
name = "deals"
crm_events = ["deal_stage_changed", "lead_created"]
labels = { team = "sales" }

[[routes]]
match = { team = "support" }
channel = "support"

[[routes]]
match = { team = "sales" }
channel = "sales"

[[staff]]
name = "lead"
role = "manager"
console = "lead"

[[staff]]
name = "ana"
team = "support"
console = "ana"

[[staff]]
name = "ben"
team = "support"
console = "ben"
"""


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crmbot.db'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crmbot.db'}"


@dataclass
class Posted:
    platform: str
    destination: str
    card: Card
    thread_ref: str | None
    ref: str
    edit: bool = False


@dataclass
class RecordingAdapter(ChatAdapter):
    """A chat adapter that records what it was asked to post; can be told to fail."""

    platform: str = "console"
    posts: list[Posted] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        self._maybe_fail()
        ref = f"msg-{len(self.posts) + 1}"
        thread_ref = thread.thread_ref if thread is not None else None
        self.posts.append(Posted(self.platform, destination, card, thread_ref, ref))
        return PostedRef(ref, thread_ref or ref)

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        self._maybe_fail()
        self.posts.append(
            Posted(self.platform, destination, status, None, posted.message_ref, edit=True)
        )

    def of_kind(self, kind: str) -> list[Posted]:
        return [p for p in self.posts if p.card.kind == kind]


class BotHarness:
    """The bot as a user meets it: feed events, type commands, read what was posted."""

    def __init__(self, bot: CrmBot, adapter: RecordingAdapter, clock: FakeClock) -> None:
        self.bot = bot
        self.adapter = adapter
        self.clock = clock

    def exec(self, text: str, user: str = "lead") -> Reply:
        return self.bot.command(Actor("console", user, user), text)

    def say(self, text: str, user: str = "lead") -> str:
        return self.exec(text, user).text

    async def deliver(self) -> int:
        return await self.bot.dispatcher.drain()


async def settle(h: BotHarness) -> None:
    """Deliver, let background suggestion drafts finish, deliver what they queued."""
    await h.deliver()
    await h.bot.suggestions.idle()
    await h.deliver()


def suggestion_cards(h: BotHarness) -> list[SuggestionCard]:
    """The suggestion cards posted so far."""
    return [p.card for p in h.adapter.of_kind("suggestion") if isinstance(p.card, SuggestionCard)]


def make_config(text_: str = TEST_CONFIG) -> CrmbotConfig:
    return load_config_text(text_, "test config")


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A loopback OpenAI-compatible server (tests/fakes/openai_api.py)."""
    fake = FakeOpenAI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def harness(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


@pytest.fixture
def sqlite_harness(sqlite_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(sqlite_url, make_config(), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


_counter = iter(range(1, 10**9))


def mention(text_: str = "hello @acme", **kw: Any) -> Mention:
    """A mention with sensible defaults; override any field."""
    n = next(_counter)
    values: dict[str, Any] = {
        "source": "twitter",
        "external_id": f"tw-{n}",
        "platform": "twitter",
        "author_handle": f"user{n}",
        "text": text_,
        "posted_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        "author_followers": 100,
    }
    values.update(kw)
    return Mention(**values)


def crm_event(kind: str = "deal_stage_changed", **kw: Any) -> CrmEvent:
    n = next(_counter)
    values: dict[str, Any] = {
        "source": "hubspot",
        "external_id": f"hs-{n}",
        "kind": kind,
        "object_id": f"deal-{n}",
        "occurred_at": datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        "summary": "Renewal moved to negotiation",
    }
    values.update(kw)
    return CrmEvent(**values)
