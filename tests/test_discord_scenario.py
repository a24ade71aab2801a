"""A support shift in Discord, end to end, and the same conversation worked from Slack and
Discord at once: one handling record, both alerts kept in step."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from pydantic import SecretStr

from bot.assembly import http_routes
from bot.chat.slack import SlackAdapter, SlackConnection
from bot.chat.slack.blocks import CLAIM
from bot.server import build_http_app
from bot.settings import Settings
from handlers.clock import FakeClock
from tests.conftest import mention
from tests.fakes.discord_api import Answer, Message
from tests.fakes.discord_bot import CHANNEL_IDS, STAFF_IDS, DiscordBot, discord_bot, discord_config
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_bot import (
    APP_TOKEN,
    BOT_TOKEN,
    FAST_RETRY,
    NO_BURST_LIMIT,
    SIGNING_SECRET,
    SlackBot,
    _serve,
    slack_config,
)
from tests.fakes.slack_bot import CHANNEL_IDS as SLACK_CHANNELS
from tests.fakes.slack_bot import STAFF_IDS as SLACK_STAFF

SUPPORT = CHANNEL_IDS["support"]
ANA, LEAD = STAFF_IDS["ana"], STAFF_IDS["lead"]


async def _shows(db: DiscordBot, message: Message, text: str) -> None:
    await db.deliver()
    await db.fake.wait_for(lambda: text in db.fake.messages[message.id].shown)


def _shown(answer: Answer) -> str:
    return "\n".join(m.shown for m in answer.messages)


def _row(shown: str, first_cell: str) -> list[str]:
    line = next(line for line in shown.splitlines() if line.startswith(first_cell))
    return re.split(r"\s{2,}", line.strip())


async def test_a_conversation_worked_entirely_from_discord(
    database_url: str, clock: FakeClock
) -> None:
    async with discord_bot(database_url, clock, run_dispatcher=True) as db:
        db.bot.ingest([mention("your app is down and I lost my order", author_handle="jroe")])
        await db.settle()
        (alert,) = db.fake.posts(SUPPORT)
        assert "@jroe" in alert.shown and "Claim" in alert.labels
        assert alert.thread_id is not None

        clock.advance(minutes=2)
        claimed = await db.press(alert, "crm:claim:1", user=ANA)
        assert claimed.followups[0].content == "You claimed #1."
        await _shows(db, alert, "claimed by @ana 2m after alert")

        clock.advance(minutes=3)
        said = await db.say_in_thread(alert.thread_id, "So sorry! The fix is rolling out.", ANA)
        await db.fake.wait_for(lambda: said.reactions == ["✅"])
        await _shows(db, alert, "replied by @ana")

        clock.advance(minutes=10)
        resolved = await db.press(alert, "crm:resolve:1", user=ANA)
        assert resolved.followups[0].content == "Resolved #1."
        await _shows(db, alert, "**Resolved** · resolved by @ana")
        assert "> your app is down and I lost my order" in db.fake.messages[alert.id].shown
        assert len(db.fake.calls_to("send")) == 1  # edited in place, never reposted

        report = await db.slash("metrics", options="7d", user=LEAD)
        assert not report.deferred_ephemeral and not report.messages[0].ephemeral
        shown = _shown(report)
        assert report.messages[0].content.startswith("Metrics for the last 7d")
        assert "1 resolved" in shown
        assert _row(shown, "time to claim")[1:3] == ["1", "2m"]
        assert _row(shown, "first response")[1:3] == ["1", "5m"]
        assert _row(shown, "resolution")[1:3] == ["1", "15m"]
        assert _row(shown, "@ana") == ["@ana", "1", "1", "2m", "1", "5m", "1", "15m"]
    assert db.fake.violations == []


@contextlib.asynccontextmanager
async def _slack_too(
    db: DiscordBot, fake: FakeSlack, adapter: SlackAdapter
) -> AsyncIterator[SlackBot]:
    app = build_http_app(db.bot, http_routes(db.bot, Settings()))
    async with _serve(app) as url:
        yield SlackBot(fake, db.bot, adapter, db.clock, url)


async def test_one_conversation_on_slack_and_discord_at_once_has_one_record(
    sqlite_url: str, clock: FakeClock
) -> None:
    slack_fake = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    await slack_fake.start()
    slack = SlackAdapter(
        SlackConnection(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=slack_fake.api_url,
        ),
        retry=FAST_RETRY,
        burst=NO_BURST_LIMIT,
    )
    config = slack_config(discord_config())
    try:
        async with (
            discord_bot(sqlite_url, clock, config=config, extra_adapters=[slack]) as db,
            _slack_too(db, slack_fake, slack) as sb,
        ):
            db.bot.ingest([mention("your app is down", author_handle="jroe")])
            await db.deliver()
            (on_discord,) = db.fake.posts(SUPPORT)
            (on_slack,) = slack_fake.posts(SLACK_CHANNELS["support"])

            clock.advance(minutes=1)
            claimed = await sb.press(CLAIM, 1, on_slack.ts, user=SLACK_STAFF["ana"])
            assert claimed.text == "You claimed #1."
            await _shows(db, on_discord, "claimed by @ana 1m after alert")  # Discord follows

            assert on_discord.thread_id is not None
            said = await db.say_in_thread(on_discord.thread_id, "On it, sorry!", ANA)
            await db.fake.wait_for(lambda: said.reactions == ["✅"])
            await _shows(db, on_discord, "replied by @ana")
            await slack_fake.wait_for(
                lambda: (
                    "replied by @ana"
                    in slack_fake.messages[(SLACK_CHANNELS["support"], on_slack.ts)].shown
                )
            )

            resolved = await db.press(on_discord, "crm:resolve:1", user=ANA)
            assert resolved.followups[0].content == "Resolved #1."
            await db.deliver()
            await slack_fake.wait_for(
                lambda: (
                    "Resolved"
                    in slack_fake.messages[(SLACK_CHANNELS["support"], on_slack.ts)].shown
                )
            )

            history = await db.slash("show", conversation=1, user=ANA)
            shown = _shown(history)
            events = [
                _row(line, "2026")[1] for line in shown.splitlines() if line.startswith("2026")
            ]
            assert events == ["alerted", "claimed", "replied", "resolved"], shown
    finally:
        await slack_fake.stop()
    assert db.fake.violations == [] and slack_fake.violations == []
