"""A support shift in Slack, end to end: an alert arrives, Ana claims it, answers in the
thread, resolves it, and the lead's `/crm metrics 7d` credits her with the right times."""

from __future__ import annotations

import re

from bot.chat.slack.blocks import CLAIM, RESOLVE
from handlers.clock import FakeClock
from tests.conftest import mention
from tests.fakes.slack_bot import CHANNEL_IDS, STAFF_IDS, SlackBot, slack_bot

SUPPORT = CHANNEL_IDS["support"]


async def _shows(sb: SlackBot, ts: str, text: str) -> None:
    await sb.fake.wait_for(lambda: text in sb.fake.messages[(SUPPORT, ts)].shown)


def _row(shown: str, first_cell: str) -> list[str]:
    line = next(line for line in shown.splitlines() if line.startswith(first_cell))
    return re.split(r"\s{2,}", line.strip())


async def test_a_conversation_worked_entirely_from_slack(
    database_url: str, clock: FakeClock
) -> None:
    async with slack_bot(database_url, clock, run_dispatcher=True) as sb:
        sb.bot.ingest([mention("your app is down and I lost my order", author_handle="jroe")])
        await sb.settle()
        (alert,) = sb.fake.posts(SUPPORT)
        assert "@jroe" in alert.shown and "Claim" in alert.shown

        clock.advance(minutes=2)
        claimed = await sb.press(CLAIM, 1, alert.ts, user=STAFF_IDS["ana"])
        assert (claimed.text, claimed.ephemeral) == ("You claimed #1.", True)
        await _shows(sb, alert.ts, "claimed by @ana 2m after alert")

        clock.advance(minutes=3)
        await sb.say_in_thread(
            alert.ts, "So sorry! The fix is rolling out now.", user=STAFF_IDS["ana"]
        )
        await _shows(sb, alert.ts, "replied by @ana")

        clock.advance(minutes=10)
        resolved = await sb.press(RESOLVE, 1, alert.ts, user=STAFF_IDS["ana"])
        assert resolved.text == "Resolved #1."
        await _shows(sb, alert.ts, "*Resolved* · resolved by @ana")
        assert ">your app is down and I lost my order" in alert.shown  # still the whole alert
        assert len(sb.fake.calls_to("chat.postMessage")) == 1  # edited in place, never reposted

        report = await sb.slash("metrics 7d", user=STAFF_IDS["lead"])
        assert not report.ephemeral
        assert report.text.startswith("Metrics for the last 7d")
        assert "1 resolved" in report.text
        assert _row(report.shown, "time to claim")[1:3] == ["1", "2m"]
        assert _row(report.shown, "first response")[1:3] == ["1", "5m"]
        assert _row(report.shown, "resolution")[1:3] == ["1", "15m"]
        assert _row(report.shown, "@ana") == ["@ana", "1", "1", "2m", "1", "5m", "1", "15m"]
    assert sb.fake.violations == []
