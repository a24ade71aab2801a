"""Socket Mode (the default): the real AsyncSocketModeHandler connects to the fake's
websocket, acknowledges each envelope and answers through the response_url."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.chat.slack.blocks import CLAIM
from handlers.clock import FakeClock
from tests.conftest import mention
from tests.fakes.slack_bot import APP_TOKEN, CHANNEL_IDS, STAFF_IDS, SlackBot, slack_bot

SUPPORT = CHANNEL_IDS["support"]


@pytest.fixture
async def sb(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, clock, mode="socket") as bot:
        yield bot
    assert bot.fake.violations == []


def _acked(sb: SlackBot, envelope_id: str) -> bool:
    return any(ack.get("envelope_id") == envelope_id for ack in sb.fake.acks)


async def test_connects_with_the_app_token_and_serves_no_http(sb: SlackBot) -> None:
    (call,) = sb.fake.calls_to("apps.connections.open")
    assert call.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert sb.adapter.http_routes() == []


async def test_slash_command_envelope_is_acked_and_answered(sb: SlackBot) -> None:
    form = sb.command_form("help", STAFF_IDS["ana"], SUPPORT, "sm-help")
    await sb.fake.push(
        {
            "envelope_id": "env-help",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": form,
        }
    )
    answer = await sb.fake.answer("sm-help")
    assert answer.ephemeral and "crmbot commands:" in answer.shown
    await sb.fake.wait_for(lambda: _acked(sb, "env-help"))


async def test_button_envelope_claims_the_conversation(sb: SlackBot) -> None:
    sb.bot.ingest([mention("the app is down", author_handle="jroe")])
    await sb.deliver()
    (alert,) = sb.fake.posts(SUPPORT)
    payload = sb.action_payload(
        CLAIM, 1, user=STAFF_IDS["ben"], channel=SUPPORT, message_ts=alert.ts, response="sm-claim"
    )
    await sb.fake.push(
        {
            "envelope_id": "env-claim",
            "type": "interactive",
            "accepts_response_payload": False,
            "payload": payload,
        }
    )
    assert (await sb.fake.answer("sm-claim")).text == "You claimed #1."
    await sb.fake.wait_for(lambda: _acked(sb, "env-claim"))
    await sb.deliver()
    assert "owner @ben" in alert.shown
