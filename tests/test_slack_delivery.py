"""Alerts reach Slack as valid Block Kit, threads stay threads, edits happen in place, and
rate limits or Slack outages never lose an alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.http_retry import builtin_async_handlers
from sqlmodel import Session, select

from bot.chat.base import DeliveryError
from bot.chat.slack import BurstLimit, RetryPolicy
from bot.chat.slack.blocks import CLAIM
from handlers.cards import Card, NoticeCard
from handlers.clock import FakeClock
from handlers.events import Actor
from storage.models import Outbox
from storage.outbox import conversation_for_message
from tests.conftest import mention
from tests.fakes.loop_clock import loop_clock, turns
from tests.fakes.slack_api import Fault
from tests.fakes.slack_bot import (
    BOT_TOKEN,
    CHANNEL_IDS,
    STAFF_IDS,
    SlackBot,
    slack_bot,
    slack_config,
)

SUPPORT = CHANNEL_IDS["support"]


@pytest.fixture
async def sb(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, clock) as bot:
        yield bot
    assert bot.fake.violations == []


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk adds up to 1 s of random jitter to Retry-After; pin it at 0."""
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.0))


async def test_alert_shows_author_text_context_and_buttons(sb: SlackBot) -> None:
    sb.bot.ingest(
        [
            mention(
                "the app is down since this morning",
                author_handle="jroe",
                author_name="Jane Roe",
                author_followers=12_300,
                url="https://x.test/jroe/1",
            )
        ]
    )
    assert await sb.deliver() == 1
    (message,) = sb.fake.posts(SUPPORT)
    shown = message.shown
    assert "HIGH · #1 · twitter" in shown
    assert "@jroe (Jane Roe)" in shown
    assert "12.3k followers · influence" in shown
    assert "negative" in shown or "neutral" in shown
    assert ">the app is down since this morning" in shown
    assert "<https://x.test/jroe/1|View on twitter>" in shown
    assert "rule: *outage*" in shown
    buttons = [el for b in message.blocks if b["type"] == "actions" for el in b["elements"]]
    assert [el.get("text", {}).get("text") for el in buttons] == [
        "Claim",
        "Mark replied",
        "Resolve",
        None,
    ]
    assert buttons[-1]["type"] == "users_select"
    assert "Suggest" not in shown
    assert message.text.startswith("HIGH #1 from @jroe on twitter")
    (call,) = sb.fake.calls_to("chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_long_and_hostile_text_is_escaped_and_clipped(sb: SlackBot) -> None:
    text = "<!channel> down & out " + "ünïcode 🚀 <b> " * 2000
    sb.bot.ingest([mention(text, author_handle="x<y>")])
    assert await sb.deliver() == 1
    (message,) = sb.fake.posts(SUPPORT)
    assert (
        "<!channel>" not in message.mrkdwn and "&lt;!channel&gt; down &amp; out" in message.mrkdwn
    )
    assert "@x<y>" in message.shown
    assert "…" in message.shown  # visibly cut, and Slack accepted it (no violations)


async def test_followups_go_into_the_alert_thread(sb: SlackBot) -> None:
    sb.bot.ingest([mention("down", author_handle="jroe")])
    sb.bot.ingest([mention("still down!!", author_handle="jroe", url="https://x.test/2")])
    assert await sb.deliver() == 2
    alert, follow = sb.fake.posts(SUPPORT)
    assert alert.thread_ts is None
    assert follow.thread_ts == alert.ts
    assert "*@jroe*" in follow.shown and ">still down!!" in follow.shown


async def test_state_changes_edit_the_alert_in_place(sb: SlackBot) -> None:
    sb.bot.ingest([mention("the app is down", author_handle="jroe")])
    await sb.deliver()
    sb.clock.advance(minutes=2)
    sb.bot.command(_actor("ana"), "claim 1")
    await sb.deliver()
    (message,) = sb.fake.posts(SUPPORT)
    assert message.edits == 1
    assert ">the app is down" in message.shown  # the alert is still all there
    assert "*Claimed* · owner @ana · claimed by @ana 2m after alert" in message.shown
    labels = _button_labels(message.blocks)
    assert labels == ["Mark replied", "Resolve", None]
    sb.bot.command(_actor("ana"), "resolve 1")
    await sb.deliver()
    assert "*Resolved* · resolved by @ana" in message.shown
    assert _button_labels(message.blocks) == ["Reopen"]
    assert len(sb.fake.calls_to("chat.postMessage")) == 1


async def test_rate_limited_post_is_retried_by_the_client(sb: SlackBot, no_jitter: None) -> None:
    sb.fake.fail("chat.postMessage", Fault(status=429, retry_after=0))
    sb.bot.ingest([mention("down")])
    assert await sb.deliver() == 1
    assert len(sb.fake.calls_to("chat.postMessage")) == 2
    assert len(sb.fake.posts(SUPPORT)) == 1


async def test_server_errors_are_retried_by_the_client(sb: SlackBot) -> None:
    sb.fake.fail("chat.postMessage", Fault(status=503))
    sb.fake.fail("chat.postMessage", Fault(status=500))
    sb.bot.ingest([mention("down")])
    assert await sb.deliver() == 1
    assert len(sb.fake.posts(SUPPORT)) == 1


async def test_persistent_failure_keeps_the_alert_for_the_dispatcher(sb: SlackBot) -> None:
    sb.fake.fail("chat.postMessage", Fault(status=503), times=3)  # 1 try + 2 retries
    sb.bot.ingest([mention("down")])
    assert await sb.deliver() == 0
    row = _outbox(sb)[0]
    assert (row.status, row.last_error) == ("pending", "Slack chat.postMessage: HTTP 503")
    sb.clock.advance(minutes=10)
    assert await sb.deliver() == 1
    assert len(sb.fake.posts(SUPPORT)) == 1


async def test_a_missing_channel_is_dead_lettered_not_retried_forever(sb: SlackBot) -> None:
    sb.fake.fail("chat.postMessage", Fault(error="channel_not_found"))
    sb.bot.ingest([mention("down")])
    assert await sb.deliver() == 0
    (row,) = _outbox(sb)
    assert row.status == "dead"  # an admin must fix the channel id; retrying cannot help
    assert row.last_error == "Slack chat.postMessage: channel_not_found"
    assert BOT_TOKEN not in (row.last_error or "")
    sb.clock.advance(hours=1)
    assert await sb.deliver() == 0
    assert len(sb.fake.calls_to("chat.postMessage")) == 1


async def test_a_transient_slack_error_is_retried(sb: SlackBot) -> None:
    sb.fake.fail("chat.postMessage", Fault(error="ratelimited"))
    sb.bot.ingest([mention("down")])
    assert await sb.deliver() == 0
    (row,) = _outbox(sb)
    assert row.status == "pending"
    sb.clock.advance(minutes=10)
    assert await sb.deliver() == 1


async def test_rate_limit_past_retries_waits_retry_after(
    database_url: str, clock: FakeClock
) -> None:
    async with slack_bot(database_url, clock, retry=RetryPolicy(max_retries=0)) as sb:
        sb.fake.fail("chat.postMessage", Fault(status=429, retry_after=30))
        sb.bot.ingest([mention("down")])
        assert await sb.deliver() == 0
        (row,) = _outbox(sb)
        assert row.last_error == "Slack chat.postMessage: rate limited (HTTP 429)"
        assert (row.next_attempt_at - clock.now()).total_seconds() >= 30
        clock.advance(seconds=29)
        assert await sb.deliver() == 0  # not before Slack said so
        clock.advance(seconds=1)
        assert await sb.deliver() == 1


async def test_unreachable_slack_is_a_delivery_error(sb: SlackBot) -> None:
    await sb.fake.stop()
    with pytest.raises(DeliveryError) as caught:
        await sb.adapter.post(SUPPORT, NoticeCard(conversation_id=None, text="hi"), None)
    assert caught.value.reason.startswith("Slack chat.postMessage: unreachable")


async def test_burst_limit_is_per_channel(database_url: str, clock: FakeClock) -> None:
    burst = BurstLimit(posts=1, seconds=3600)
    async with slack_bot(database_url, clock, burst=burst) as sb:
        with loop_clock() as loop_time:  # the limiter reads the event loop's clock
            notice = NoticeCard(conversation_id=None, text="digest")
            await sb.adapter.post(SUPPORT, notice, None)
            second = asyncio.create_task(sb.adapter.post(SUPPORT, notice, None))
            await sb.adapter.post(CHANNEL_IDS["sales"], notice, None)  # another channel: not held
            await turns()
            assert not second.done()  # over the limit in #support: held back ...
            loop_time.advance(3000)
            await turns()
            assert not second.done()
            assert [m.channel for m in sb.fake.posts()] == [SUPPORT, CHANNEL_IDS["sales"]]
            loop_time.advance(700)  # ... until the limit's hour has passed; never dropped
            await asyncio.wait_for(second, timeout=60)
            assert [m.channel for m in sb.fake.posts()] == [SUPPORT, CHANNEL_IDS["sales"], SUPPORT]


async def test_unknown_card_type_is_refused(sb: SlackBot) -> None:
    with pytest.raises(TypeError, match="cannot post a Card"):
        await sb.adapter.post(SUPPORT, Card(conversation_id=None), None)


def _actor(name: str) -> Actor:
    return Actor("slack", STAFF_IDS[name], name)


def _button_labels(blocks: list[dict[str, Any]]) -> list[str | None]:
    return [
        el.get("text", {}).get("text")
        for b in blocks
        if b["type"] == "actions"
        for el in b["elements"]
    ]


def _outbox(sb: SlackBot) -> list[Outbox]:
    with Session(sb.bot.db.engine) as s:
        return list(s.exec(select(Outbox).order_by(Outbox.id)).all())  # type: ignore[arg-type]


async def test_burst_over_the_channel_budget_is_one_claimable_digest(
    database_url: str, clock: FakeClock
) -> None:
    base = slack_config()
    support = base.channels["support"].model_copy(update={"max_posts_per_minute": 1})
    config = base.model_copy(update={"channels": {**base.channels, "support": support}})
    async with slack_bot(database_url, clock, config=config) as sb:
        sb.bot.ingest([mention(f"outage number {n}", author_handle=f"user{n}") for n in range(3)])
        await sb.deliver()
        (digest,) = sb.fake.posts(SUPPORT)
        assert "3 alerts" in digest.shown and "outage number 2" in digest.shown
        answer = await sb.press(CLAIM, 2, digest.ts, user=STAFF_IDS["ana"])
        assert answer.text == "You claimed #2."
        clock.advance(minutes=1)  # the channel's budget allows the next post
        await sb.deliver()
        (status,) = [m for m in sb.fake.posts(SUPPORT) if m.thread_ts == digest.ts]
        assert "*Claimed* · owner @ana" in status.shown
        with Session(sb.bot.db.engine) as session:  # a digest thread is no one conversation
            assert conversation_for_message(session, "slack", SUPPORT, digest.ts) is None
        assert sb.fake.violations == []


async def test_escalation_pings_people_and_groups_for_real(sb: SlackBot) -> None:
    from handlers.cards import AlertCard, Ping

    card = AlertCard(
        conversation_id=7,
        title="site down",
        text="site down",
        escalation="Unclaimed for 15m",
        pings=(
            Ping("ana", "user", {"slack": "U0ANA"}).to_payload(),
            Ping("support-oncall", "group", {"slack": "S0ONCALL", "discord": "4455"}).to_payload(),
            Ping("nobody-here", "user", {"discord": "99"}).to_payload(),
        ),
    )
    await sb.adapter.post(SUPPORT, card, None)
    (message,) = sb.fake.posts(SUPPORT)
    # in the notification text (what a phone shows) and in the escalation line
    for shown in (message.text, message.shown):
        assert "<@U0ANA> <!subteam^S0ONCALL> @nobody-here" in shown
