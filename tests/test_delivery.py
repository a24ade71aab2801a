"""Bursts, groups and quiet hours become digests within the channel's post budget;
nothing is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from bot.app import CrmBot
from handlers.cards import AlertCard, DigestCard, FollowUpCard, StatusCard
from handlers.clock import FakeClock
from storage.models import Outbox
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention


def harness_with(database_url: str, clock: FakeClock, config_text: str) -> BotHarness:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(config_text), [adapter], clock=clock)
    return BotHarness(bot, adapter, clock)


@pytest.fixture
def budgeted(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    text = TEST_CONFIG.replace("[channels.support]", "[channels.support]\nmax_posts_per_minute = 5")
    h = harness_with(database_url, clock, text)
    yield h
    h.bot.db.dispose()


async def test_burst_over_budget_becomes_one_digest(budgeted: BotHarness) -> None:
    h = budgeted
    h.bot.ingest([mention("first outage report: site down")])
    await h.deliver()
    h.bot.ingest([mention(f"site down #{i}", author_handle=f"u{i}") for i in range(40)])
    await h.deliver()
    posts = h.adapter.posts
    assert [type(p.card).__name__ for p in posts] == ["AlertCard", "DigestCard"]
    digest = posts[1].card
    assert isinstance(digest, DigestCard)
    assert digest.total == 40 and len(digest.items) == 10
    assert digest.reason == "burst over the channel budget of 5 posts a minute"
    assert digest.counts == {"high": 40}
    with Session(h.bot.db.engine) as s:
        assert {r.status for r in s.exec(select(Outbox)).all()} == {"sent"}  # all accounted for


async def test_budget_exhausted_waits_for_the_next_slot(budgeted: BotHarness) -> None:
    h = budgeted
    for i in range(5):  # five single alerts use the whole budget
        h.bot.ingest([mention(f"site down {i}", author_handle=f"a{i}")])
        await h.deliver()
    h.bot.ingest([mention("site down again", author_handle="late")])
    await h.deliver()
    assert len(h.adapter.posts) == 5  # the sixth waits; it is not dropped
    h.clock.advance(seconds=61)
    await h.deliver()
    assert len(h.adapter.posts) == 6 and isinstance(h.adapter.posts[-1].card, AlertCard)


async def test_follow_ups_and_updates_of_digested_conversations_go_to_its_thread(
    budgeted: BotHarness,
) -> None:
    h = budgeted
    h.bot.ingest([mention(f"site down {i}", author_handle=f"u{i}") for i in range(8)])
    await h.deliver()
    (digest,) = h.adapter.posts
    h.bot.ingest([mention("hello??", author_handle="u3")])
    h.say("claim 4", "ana")
    h.clock.advance(seconds=61)
    await h.deliver()
    follow, status = h.adapter.posts[1:]
    assert isinstance(follow.card, FollowUpCard) and follow.thread_ref == digest.ref
    assert isinstance(status.card, StatusCard) and not status.edit  # never overwrite the digest
    assert status.thread_ref == digest.ref


GROUPED = TEST_CONFIG.replace(
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n',
    '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n'
    'group_by = ["rule"]\ngroup_wait = "30s"\ngroup_interval = "5m"\n',
)


async def test_group_wait_collects_a_group_into_one_message(
    database_url: str, clock: FakeClock
) -> None:
    h = harness_with(database_url, clock, GROUPED)
    h.bot.ingest([mention("site down", author_handle="a")])
    await h.deliver()
    assert h.adapter.posts == []  # waiting for the rest of its group
    h.clock.advance(seconds=10)
    h.bot.ingest([mention("down for me too", author_handle="b")])
    h.clock.advance(seconds=20)
    await h.deliver()
    (digest,) = h.adapter.posts
    assert isinstance(digest.card, DigestCard) and digest.card.total == 2
    assert digest.card.reason == "grouped by routes[0] (rule=outage)"
    # the next alert of the group waits for group_interval after that post
    h.bot.ingest([mention("still down", author_handle="c")])
    h.clock.advance(minutes=4)
    await h.deliver()
    assert len(h.adapter.posts) == 1
    h.clock.advance(minutes=1)
    await h.deliver()
    assert len(h.adapter.posts) == 2 and isinstance(h.adapter.posts[1].card, AlertCard)
    h.bot.db.dispose()


QUIET = (
    TEST_CONFIG.replace(
        '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\n',
        '[[routes]]\nmatch = { team = "support" }\nchannel = "support"\nquiet_hours = ["nights"]\n',
    )
    + '\n[[time_intervals]]\nname = "nights"\ntimezone = "UTC"\ntimes = [{ start = "22:00", end = "07:00" }]\n'
)


async def test_quiet_hours_defer_to_a_digest_at_their_end(database_url: str) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    h = harness_with(database_url, clock, QUIET)
    h.bot.ingest([mention("site down", author_handle="a")])
    clock.advance(hours=2)
    h.bot.ingest([mention("still down", author_handle="b"), mention("pricing?", author_handle="c")])
    await h.deliver()
    assert [p.destination for p in h.adapter.posts] == ["sales"]  # sales has no quiet hours
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    await h.deliver()
    digest = h.adapter.posts[-1]
    assert digest.destination == "support" and isinstance(digest.card, DigestCard)
    assert digest.card.total == 2 and digest.card.reason == "held during quiet hours (routes[0])"
    h.bot.db.dispose()


async def test_follow_up_burst_is_folded_into_a_digest(budgeted: BotHarness) -> None:
    h = budgeted
    h.bot.ingest([mention("site down", author_handle="a"), mention("site down", author_handle="b")])
    await h.deliver()
    assert len(h.adapter.posts) == 2
    h.bot.ingest([mention(f"still down {i}", author_handle="ab"[i % 2]) for i in range(12)])
    await h.deliver()
    digest = h.adapter.posts[-1]
    assert len(h.adapter.posts) == 3 and isinstance(digest.card, DigestCard)
    assert digest.card.total == 12
    assert digest.card.reason.startswith(
        "12 follow-ups in 2 conversations; burst over the channel budget"
    )
    with Session(h.bot.db.engine) as s:
        assert {r.status for r in s.exec(select(Outbox)).all()} == {"sent"}
