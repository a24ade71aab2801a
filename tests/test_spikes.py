"""Spike rules fire on bursts against the baseline, respect cooldowns, and mute the single
alerts they cover (inhibit) without dropping them; unclaimed_for rules remind once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.app import CrmBot
from handlers.cards import AlertCard, DigestCard
from handlers.clock import FakeClock
from handlers.escalation import check_unclaimed
from handlers.spikes import check_spikes
from storage.models import Conversation, Outbox
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention

SPIKY = (
    TEST_CONFIG
    + """
[[spikes]]
name = "negative burst"
sentiment_max = -0.3
window = "10m"
baseline = "2h"
ratio = 3
min_count = 5
cooldown = "1h"
severity = "critical"
labels = { team = "support" }

[[inhibit]]
source_match = { kind = "spike" }
target_match = { sentiment = "negative" }
equal = ["team"]

[[rules]]
name = "stale"
unclaimed_for = "30m"
labels = { team = "support" }
"""
)


@pytest.fixture
def spiky(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(SPIKY), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.db.dispose()


ANGRY = "this is terrible, awful service, I hate it"


async def test_burst_fires_once_within_cooldown(spiky: BotHarness) -> None:
    h = spiky
    for minute in range(0, 120, 20):  # a quiet baseline: one angry post every 20 minutes
        h.bot.ingest([mention(ANGRY, author_handle=f"base{minute}")])
        h.clock.advance(minutes=20)
    assert check_spikes(h.bot.ctx) == []
    h.bot.ingest([mention(ANGRY, author_handle=f"burst{i}") for i in range(8)])
    fired = check_spikes(h.bot.ctx)
    assert len(fired) == 1
    await h.deliver()
    spike_posts = [
        p for p in h.adapter.posts if isinstance(p.card, AlertCard) and p.card.platform == "spike"
    ]
    (spike,) = spike_posts
    assert isinstance(spike.card, AlertCard)
    assert spike.destination == "support" and spike.card.severity == "critical"
    assert spike.card.title.startswith("Spike: 8 mentions in 10m (usually")
    assert (
        spike.card.why
        == "spike rule `negative burst` → route `routes[0]` (team=support) → #support"
    )
    h.clock.advance(minutes=5)
    h.bot.ingest([mention(ANGRY, author_handle=f"more{i}") for i in range(8)])
    assert check_spikes(h.bot.ctx) == []  # cooldown


async def test_open_spike_mutes_single_alerts_into_a_digest(spiky: BotHarness) -> None:
    h = spiky
    h.bot.ingest([mention(ANGRY, author_handle=f"burst{i}") for i in range(6)])
    await h.deliver()
    (spike_id,) = check_spikes(h.bot.ctx)
    await h.deliver()
    before = len(h.adapter.posts)
    h.bot.ingest([mention(ANGRY + " still down", author_handle=f"late{i}") for i in range(4)])
    h.bot.ingest([mention("love the new app", author_handle="happy")])  # positive: not muted
    await h.deliver()
    new = h.adapter.posts[before:]
    assert [type(p.card).__name__ for p in new] == ["AlertCard"]  # only the positive one
    h.clock.advance(minutes=1)
    await h.deliver()
    digest = h.adapter.posts[-1]
    assert isinstance(digest.card, DigestCard) and digest.card.total == 4
    assert digest.card.reason == f"muted while spike #{spike_id} is open"
    with Session(h.bot.db.engine) as s:
        assert {r.status for r in s.exec(select(Outbox)).all()} == {"sent"}


async def test_unclaimed_for_rule_reminds_once_per_cycle(spiky: BotHarness) -> None:
    h = spiky
    h.bot.ingest([mention("is the site down?", author_handle="a")])
    await h.deliver()
    h.clock.advance(minutes=29)
    assert check_unclaimed(h.bot.ctx) == []
    h.clock.advance(minutes=2)
    assert check_unclaimed(h.bot.ctx) == [1]
    assert check_unclaimed(h.bot.ctx) == []  # once per cycle
    await h.deliver()
    reminder = h.adapter.posts[-1]
    assert isinstance(reminder.card, AlertCard)
    assert reminder.card.escalation == "Unclaimed for 30m (rule stale)"
    h.say("claim 1", "ana")
    with Session(h.bot.db.engine) as s:
        assert s.get(Conversation, 1) is not None


def test_counters_older_than_every_baseline_are_dropped(spiky: BotHarness) -> None:
    from datetime import timedelta

    from storage import spikes as spike_store

    now = spiky.clock.now().replace(second=0, microsecond=0)
    with spiky.bot.db.transaction() as conn:
        spike_store.add_counts(conn, now - timedelta(hours=3), {"negative burst": 4})
        spike_store.add_counts(conn, now - timedelta(hours=1), {"negative burst": 2})
    check_spikes(spiky.bot.ctx)
    with spiky.bot.db.engine.connect() as conn:
        kept = spike_store.buckets(conn, "negative burst", now - timedelta(days=1), now)
    assert list(kept.values()) == [2]  # the 2h baseline never needs the 3h-old minute
