"""Posting to Discord when Discord pushes back: discord.py's buckets wait out a short rate
limit; a long one hands the row back to the outbox (never blocking the bot, never losing
the alert); refusals that will not go away are dead-lettered; pings really ping."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import col, select

from bot.chat.base import DeliveryError
from handlers.cards import AlertCard, Ping
from handlers.clock import FakeClock
from storage.models import Outbox
from storage.outbox_types import OutboxStatus
from tests.conftest import mention
from tests.fakes.discord_bot import CHANNEL_IDS, DiscordBot, discord_bot

SUPPORT = CHANNEL_IDS["support"]
SALES = CHANNEL_IDS["sales"]


def _rows(db: DiscordBot, kind: str = "alert") -> list[Outbox]:
    with db.bot.db.session() as session:
        return list(
            session.exec(select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id)))
        )


async def test_a_short_rate_limit_is_waited_out_by_discord_py(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.fail("send", 429, retry_after=0.05)
        db.bot.ingest([mention("your app is down", author_handle="jroe")])
        assert await db.deliver() == 1
        assert len(db.fake.calls_to("send")) == 2  # refused once, then posted
        assert len(db.fake.posts(SUPPORT)) == 1
        assert _rows(db)[0].status == "sent"


async def test_a_long_rate_limit_goes_back_to_the_outbox_and_blocks_no_one(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.fail("send", 429, retry_after=120.0)
        db.bot.ingest([mention("your app is down", author_handle="jroe")])
        db.bot.ingest([mention("how much is the enterprise plan?", author_handle="kim")])
        async with asyncio.timeout(5):  # nobody waits two minutes
            await db.deliver()
        rows = _rows(db)
        assert {r.destination for r in rows} == {SUPPORT, SALES}
        # the dispatcher takes channels in any order: the first post is the one refused
        (limited,) = [r for r in rows if r.status == "pending"]
        assert [r.status for r in rows].count(OutboxStatus.SENT) == 1  # the other channel went on
        assert "rate limited" in (limited.last_error or "")
        wait = limited.next_attempt_at.replace(tzinfo=None) - clock.now().replace(tzinfo=None)
        assert wait >= timedelta(seconds=119)  # Discord's retry_after is honoured

        clock.advance(minutes=3)
        await db.deliver()
        assert [r.status for r in _rows(db)] == ["sent", "sent"]
        # each posted once, the refused one late, none lost
        assert len(db.fake.posts(SUPPORT)) == len(db.fake.posts(SALES)) == 1


async def test_a_refusal_that_will_not_go_away_is_dead_lettered(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.fail("send", 403)
        db.bot.ingest([mention("your app is down", author_handle="jroe")])
        await db.deliver()
        (row,) = _rows(db)
        assert row.status == "dead" and "HTTP 403" in (row.last_error or "")


async def test_a_server_error_is_retried_later(sqlite_url: str, clock: FakeClock) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.fail("send", 503)
        db.bot.ingest([mention("your app is down", author_handle="jroe")])
        await db.deliver()
        (row,) = _rows(db)
        assert row.status == "pending" and "HTTP 503" in (row.last_error or "")
        clock.advance(minutes=5)
        await db.deliver()
        assert _rows(db)[0].status == "sent"


async def test_a_thread_refused_with_the_alert_is_made_with_the_first_follow_up(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.fail("thread", 403)  # e.g. no Create Public Threads permission
        db.bot.ingest([mention("your app is down", author_handle="jroe")])
        await db.deliver()
        (alert,) = db.fake.posts(SUPPORT)
        assert alert.thread_id is None
        db.bot.ingest([mention("still down!!", author_handle="jroe")])
        await db.deliver()
        assert alert.thread_id is not None
        (followup,) = db.fake.posts(alert.thread_id)
        assert "still down" in followup.shown
        assert _rows(db, "followup")[0].status == "sent"

        # and when threads stay refused, the follow-up goes to the channel, not lost
        db.fake.fail("thread", 403)
        db.bot.ingest([mention("my app is down", author_handle="kim")])
        await db.deliver()
        second = db.fake.posts(SUPPORT)[-1]
        db.fake.fail("thread", 403)
        db.bot.ingest([mention("hello?? still down", author_handle="kim")])
        await db.deliver()
        assert second.thread_id is None
        assert "hello?? still down" in db.fake.posts(SUPPORT)[-1].shown


async def test_an_escalation_pings_exactly_the_people_and_roles_it_names(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        pings = (
            Ping("ana", "user", {"discord": "2000000000000000002"}).to_payload(),
            Ping("oncall", "group", {"discord": "3000000000000000001"}).to_payload(),
            Ping("dana", "user", {"slack": "U0DANA"}).to_payload(),
        )
        card = AlertCard(
            conversation_id=5,
            platform="twitter",
            text="down",
            escalation="unclaimed for 15m",
            pings=pings,
        )
        posted = await db.adapter.post(SUPPORT, card, None)
        message = db.fake.messages[posted.message_ref]
        assert message.content.startswith("<@2000000000000000002> <@&3000000000000000001> @dana")
        (call,) = db.fake.calls_to("send")
        allowed = call.body["allowed_mentions"]
        assert [str(u) for u in allowed["users"]] == ["2000000000000000002"]
        assert [str(r) for r in allowed["roles"]] == ["3000000000000000001"]
        assert "everyone" not in allowed.get("parse", [])
        assert posted.thread_ref == posted.message_ref  # the thread is made from the alert


async def test_posting_to_an_unknown_channel_is_a_permanent_error(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        card = AlertCard(conversation_id=5, platform="twitter", text="down")
        try:
            await db.adapter.post("4000000000000000999", card, None)
        except DeliveryError as exc:
            assert exc.permanent and exc.status == 404
        else:
            raise AssertionError("posting to an unknown channel succeeded")
