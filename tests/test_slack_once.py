"""Slack delivers at least once: a retried event, a replayed slash command or button press
is acted on once, through the real Bolt app in HTTP mode; and naming people in a command
makes nobody staff."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlmodel import Session, select

from bot.chat.slack.blocks import CLAIM
from handlers.clock import FakeClock
from storage.models import HandlingEvent, Staff, StaffIdentity
from tests.conftest import mention
from tests.fakes.slack_bot import CHANNEL_IDS, STAFF_IDS, SlackBot, sign, slack_bot

SUPPORT = CHANNEL_IDS["support"]
ANA = STAFF_IDS["ana"]


@pytest.fixture
async def sb(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, clock) as bot:
        yield bot
    assert bot.fake.violations == []


async def _alert(sb: SlackBot) -> str:
    sb.bot.ingest([mention("the app is down", author_handle=f"u{uuid.uuid4().hex[:6]}")])
    await sb.deliver()
    return sb.fake.posts(SUPPORT)[-1].ts


def _kinds(sb: SlackBot) -> list[str]:
    with Session(sb.bot.db.engine) as s:
        return [e.kind for e in s.exec(select(HandlingEvent).order_by(HandlingEvent.id)).all()]  # type: ignore[arg-type]


async def _until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (bounded) for the bot's background work to show in the database."""
    for _ in range(int(seconds / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not done in time")


async def _post(sb: SlackBot, body: str, content_type: str, **headers: str) -> httpx.Response:
    assert sb.http_url is not None
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{sb.http_url}/slack/events",
            content=body,
            headers={"Content-Type": content_type, **sign(body, int(time.time())), **headers},
        )


async def test_an_event_delivered_three_times_is_one_reply(sb: SlackBot) -> None:
    ts = await _alert(sb)
    body = json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": "Ev0RETRIED01",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": SUPPORT,
                "user": ANA,
                "text": "Sorry, fixing it now",
                "ts": "1772441500.000100",
                "thread_ts": ts,
                "channel_type": "channel",
            },
        }
    )
    for retry in ("", "1", "2"):
        extra = (
            {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        )
        response = await _post(sb, body, "application/json", **extra)
        assert response.status_code == 200
    await _until(lambda: "replied" in _kinds(sb))
    await sb.bot.suggestions.idle()
    assert _kinds(sb) == ["alerted", "claimed", "replied"]
    assert sb.fake.calls_to("chat.postEphemeral") == []  # nobody is told about the retries


async def test_a_replayed_signed_slash_command_is_recorded_once(sb: SlackBot) -> None:
    await _alert(sb)
    names = [uuid.uuid4().hex, uuid.uuid4().hex]
    form = sb.command_form("reply 1 We are on it", ANA, SUPPORT, names[0])
    first = await sb.post_form(form)
    assert first.status_code == 200
    first_answer = await sb.fake.answer(names[0])
    replay = await sb.post_form({**form, "response_url": sb.fake.response_url(names[1])})
    assert replay.status_code == 200
    replay_answer = await sb.fake.answer(names[1])
    assert (
        first_answer.text
        == replay_answer.text
        == ("Recorded your reply on #1 and assigned it to you.")
    )
    assert _kinds(sb) == ["alerted", "claimed", "replied"]


async def test_a_replayed_button_press_is_done_once(sb: SlackBot) -> None:
    ts = await _alert(sb)
    payload = sb.action_payload(CLAIM, 1, user=ANA, channel=SUPPORT, message_ts=ts, response="a")
    form = {"payload": json.dumps(payload)}
    assert (await sb.post_form(form)).status_code == 200
    await sb.fake.wait_for(lambda: len(sb.fake.answers) == 1)
    assert (await sb.post_form(form)).status_code == 200  # Slack's retry, after the first
    await sb.fake.wait_for(lambda: len(sb.fake.answers) == 2)
    assert [a.text for a in sb.fake.answers] == ["You claimed #1.", "You claimed #1."]
    assert _kinds(sb) == ["alerted", "claimed"]


async def test_mentioning_200_people_makes_none_of_them_staff(sb: SlackBot) -> None:
    await _alert(sb)
    mentions = " ".join(f"<@U9{n:07d}|person{n}>" for n in range(200))
    answer = await sb.slash(f"handoff 1 {mentions}", user=ANA)
    assert answer.text.startswith("I don't know a staff member called")
    assert len(sb.fake.calls_to("users.info")) <= 5  # a command names a few people at most
    with Session(sb.bot.db.engine) as s:
        assert len(s.exec(select(Staff)).all()) == 3
        assert len(s.exec(select(StaffIdentity)).all()) == 6  # slack + console each
