"""Staff work conversations from Slack over HTTP mode: signed slash commands, buttons and
thread messages reach the real Bolt app served by `crmbot run`'s starlette app."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select

from bot.chat.slack.blocks import CLAIM, HANDOFF, REPLIED, RESOLVE
from handlers.clock import FakeClock
from handlers.errors import GENERIC_FAILURE
from handlers.events import Actor
from storage.models import HandlingEvent, Staff
from tests.conftest import TEST_CONFIG, make_config, mention
from tests.fakes.slack_bot import (
    BOT_TOKEN,
    CHANNEL_IDS,
    SIGNING_SECRET,
    STAFF_IDS,
    SlackBot,
    slack_bot,
    slack_config,
)

SUPPORT = CHANNEL_IDS["support"]
SALES = CHANNEL_IDS["sales"]
ANA, BEN, LEAD = STAFF_IDS["ana"], STAFF_IDS["ben"], STAFF_IDS["lead"]


@pytest.fixture
async def sb(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, clock) as bot:
        yield bot
    assert bot.fake.violations == []


@pytest.fixture
async def live(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    """The bot with its dispatcher running, as under `crmbot run`."""
    async with slack_bot(database_url, clock, run_dispatcher=True) as bot:
        yield bot
    assert bot.fake.violations == []


async def _alert(sb: SlackBot, text: str = "the app is down", channel: str = SUPPORT) -> str:
    """Ingest a mention and post its alert; returns the alert's ts."""
    before = len(sb.fake.posts(channel))
    sb.bot.ingest([mention(text, author_handle=f"u{uuid.uuid4().hex[:6]}")])
    if sb.dispatcher_running:
        await sb.settle()
    else:
        await sb.deliver()
    assert len(sb.fake.posts(channel)) > before
    return sb.fake.posts(channel)[-1].ts


async def _shows(sb: SlackBot, ts: str, text: str, channel: str = SUPPORT) -> None:
    """Wait until the alert ``ts`` shows ``text`` (the running dispatcher edits it)."""
    await sb.fake.wait_for(lambda: text in sb.fake.messages[(channel, ts)].shown)


def _events(sb: SlackBot) -> list[tuple[str, str | None]]:
    with Session(sb.bot.db.engine) as s:
        names = {st.id: st.name for st in s.exec(select(Staff)).all()}
        rows = s.exec(select(HandlingEvent).order_by(HandlingEvent.id)).all()  # type: ignore[arg-type]
        return [(e.kind, names.get(e.actor_id)) for e in rows]


async def test_help_is_answered_privately_with_the_command_list(sb: SlackBot) -> None:
    answer = await sb.slash("help")
    assert answer.ephemeral
    assert "crmbot commands:" in answer.shown
    assert "/crm claim <id>" in answer.shown and "```" in answer.shown


async def test_queue_is_shown_in_channel_as_a_table(sb: SlackBot) -> None:
    for n in range(25):
        sb.bot.ingest([mention(f"outage report {n} " + "x" * 300, author_handle=f"user{n}")])
    answer = await sb.slash("queue", user=LEAD)
    assert not answer.ephemeral
    assert answer.text.startswith("25 open conversations, 25 unclaimed (showing 20)")
    lines = answer.shown.splitlines()
    assert any(line.startswith("id ") and "severity" in line for line in lines)
    rows = [line for line in lines if line.startswith("#")]
    assert len(rows) == 20 and all("unclaimed" in row for row in rows)


@pytest.mark.parametrize(
    ("age", "secret"),
    [(301, SIGNING_SECRET), (0, "not-the-signing-secret")],
    ids=["stale", "forged"],
)
async def test_forged_or_stale_requests_are_refused(sb: SlackBot, age: int, secret: str) -> None:
    form = sb.command_form("claim 1", ANA, SUPPORT, "nope")
    response = await sb.post_form(form, timestamp=int(time.time()) - age, secret=secret)
    assert response.status_code == 401
    assert sb.fake.answers == [] and _events(sb) == []


async def test_command_is_acknowledged_before_the_work_is_done(
    sb: SlackBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = sb.bot.inbound._command

    def slow(*args, **kwargs):
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(sb.bot.inbound, "_command", slow)
    name = uuid.uuid4().hex
    response = await sb.post_form(sb.command_form("help", ANA, SUPPORT, name))
    assert response.status_code == 200  # Slack got its ack while the command still runs
    assert sb.fake.answers == []
    release.set()
    assert "crmbot commands:" in (await sb.fake.answer(name)).shown


async def test_buttons_claim_reply_resolve_and_say_why_not(sb: SlackBot) -> None:
    ts = await _alert(sb)
    sb.clock.advance(minutes=2)
    answer = await sb.press(CLAIM, 1, ts, user=ANA)
    assert (answer.text, answer.ephemeral) == ("You claimed #1.", True)
    assert answer.body.get("replace_original") is False
    refused = await sb.press(CLAIM, 1, ts, user=BEN)
    assert refused.text == "#1 is already claimed by @ana. Ask them to `/crm handoff 1 @ben`."
    assert (await sb.press(REPLIED, 1, ts, user=ANA)).text == "Recorded your reply on #1."
    assert (await sb.press(RESOLVE, 1, ts, user=ANA)).text == "Resolved #1."
    await sb.deliver()
    (message,) = sb.fake.posts(SUPPORT)
    assert "*Resolved* · resolved by @ana" in message.shown
    assert _events(sb) == [
        ("alerted", None),
        ("claimed", "ana"),
        ("replied", "ana"),
        ("resolved", "ana"),
    ]


async def test_hand_off_picker_gives_the_conversation_to_the_picked_person(sb: SlackBot) -> None:
    ts = await _alert(sb)
    await sb.press(CLAIM, 1, ts, user=ANA)
    answer = await sb.press(HANDOFF, 1, ts, user=ANA, selected_user=BEN)
    assert answer.text == "Handed #1 to @ben."
    await sb.deliver()
    assert "owner @ben · handed off to @ben by @ana" in sb.fake.posts(SUPPORT)[0].shown


async def test_command_mentions_name_slack_users(sb: SlackBot) -> None:
    await _alert(sb)
    await sb.slash("claim 1", user=ANA)
    answer = await sb.slash(f"handoff 1 <@{BEN}|ben>", user=ANA)
    assert answer.text == "Handed #1 to @ben."


async def test_staff_message_in_the_alert_thread_is_their_reply(live: SlackBot) -> None:
    ts = await _alert(live)
    live.clock.advance(minutes=4)
    await live.say_in_thread(ts, "Sorry about that &amp; thanks for the patience", user=BEN)
    await _shows(live, ts, "*Claimed* · owner @ben · replied by @ben")
    assert _events(live) == [("alerted", None), ("claimed", "ben"), ("replied", "ben")]
    show = live.bot.command(_slack_actor("lead"), "show 1")
    assert show.tables[0].rows[2][3] == "Sorry about that & thanks for the patience"


async def test_messages_that_are_not_staff_replies_are_ignored(live: SlackBot) -> None:
    ts = await _alert(live)
    sales_ts = await _alert(live, "what does the enterprise plan cost? pricing please", SALES)
    await live.say_in_thread(ts, "beep", bot_id="B0OTHER", subtype="bot_message")
    await live.say_in_thread(ts, "edited", subtype="message_changed")
    await live.say_in_thread("1772440000.000001", "not an alert thread")
    await live.say_in_thread(sales_ts, "we'll call them", channel=SALES)  # alerts-only channel
    await live.say_in_thread(ts, "this one counts", user=ANA)
    await _shows(live, ts, "replied by @ana")
    assert [e for e in _events(live) if e[0] in {"claimed", "replied"}] == [
        ("claimed", "ana"),
        ("replied", "ana"),
    ]
    assert "Open" not in live.fake.messages[(SALES, sales_ts)].shown


async def test_reply_in_a_resolved_thread_tells_the_author_privately(sb: SlackBot) -> None:
    ts = await _alert(sb)
    await sb.press(RESOLVE, 1, ts, user=ANA)
    await sb.say_in_thread(ts, "one more thing", user=BEN)
    await sb.fake.wait_for(lambda: bool(sb.fake.calls_to("chat.postEphemeral")))
    (call,) = sb.fake.calls_to("chat.postEphemeral")
    assert call.params["user"] == BEN and call.params["thread_ts"] == ts
    assert call.params["text"] == "#1 is resolved. Use `/crm reopen 1` to work on it again."


async def test_a_stranger_gets_a_private_refusal_and_no_figures(
    sb: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    ts = await _alert(sb)
    await sb.press(CLAIM, 1, ts, user=ANA)
    with caplog.at_level(logging.INFO):
        metrics = await sb.slash("metrics 7d", user="U0STRANGER")
        pressed = await sb.press(RESOLVE, 1, ts, user="U0STRANGER")
    refusal = (
        "You're not on the crmbot staff list; ask an admin to add you to [[staff]] in the config."
    )
    assert (metrics.text, metrics.ephemeral) == (refusal, True)
    assert "conversations" not in metrics.shown and "```" not in metrics.shown
    assert (pressed.text, pressed.ephemeral) == (refusal, True)
    assert _events(sb) == [("alerted", None), ("claimed", "ana")]
    assert "refused slack user U0STRANGER: not on the staff list" in caplog.text
    with Session(sb.bot.db.engine) as s:
        assert sorted(st.name for st in s.exec(select(Staff)).all()) == ["ana", "ben", "lead"]


async def test_someone_roles_name_becomes_staff_looked_up_once(
    database_url: str, clock: FakeClock
) -> None:
    config = slack_config(make_config(TEST_CONFIG + '\n[roles]\nstaff = ["slack:U0CARLA"]\n'))
    async with slack_bot(database_url, clock, config=config) as sb:
        sb.fake.users["U0CARLA"] = {
            "id": "U0CARLA",
            "name": "carla",
            "real_name": "Carla Diaz",
            "profile": {
                "display_name": "carla",
                "real_name": "Carla Diaz",
                "email": "carla@acme.test",
            },
        }
        assert (await sb.slash("mine", user="U0CARLA")).text.startswith("You have no open")
        assert (await sb.slash("mine", user="U0CARLA")).text.startswith("You have no open")
        assert len(sb.fake.calls_to("users.info")) == 1
        await sb.slash("mine", user=ANA)  # known from the config: no lookup
        assert len(sb.fake.calls_to("users.info")) == 1
        with Session(sb.bot.db.engine) as s:
            carla = s.exec(select(Staff).where(Staff.name == "carla")).one()
        assert (carla.email, carla.role) == ("carla@acme.test", "staff")
        assert sb.fake.violations == []


async def test_unexpected_failure_gives_the_generic_answer_and_logs_it(
    sb: SlackBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ts = await _alert(sb)

    def broken(*args, **kwargs):
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(sb.bot.inbound, "_action", broken)
    with caplog.at_level(logging.ERROR):
        answer = await sb.press(CLAIM, 1, ts, user=ANA)
    assert answer.text == GENERIC_FAILURE
    assert "hunter2" not in json.dumps(answer.body)
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


async def test_no_token_or_secret_reaches_the_logs(
    sb: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        ts = await _alert(sb)
        await sb.press(CLAIM, 1, ts, user=ANA)
        await sb.slash("queue", user=LEAD)
        await sb.deliver()
    assert "chat.update" in caplog.text  # the client's debug lines were captured
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


def _slack_actor(name: str) -> Actor:
    return Actor("slack", STAFF_IDS[name], name)
