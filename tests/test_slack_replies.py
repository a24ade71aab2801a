"""Answering the customer from a Slack thread: Send and Edit & send on a suggestion, the
edit modal, Approve / Edit / Reject on a draft, and each step of a reply as the thread
shows it. The real Bolt app (HTTP mode) and the real adapter post to the fake Slack; the
bot behind them is a recording double of the ChatInbound port, so these tests assert the
port call each press makes and that the port's answer reaches the person."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.chat.slack import composer
from bot.chat.slack.blocks import (
    SUGGESTION_DOWN,
    SUGGESTION_EDIT,
    SUGGESTION_SEND,
    SUGGESTION_UP,
    SUGGESTION_USE,
)
from bot.chat.slack.modals import TEXT_BLOCK
from bot.chat.slack.reply_card import REPLY_APPROVE, REPLY_EDIT, REPLY_REJECT
from handlers.cards import ReplyCard, SuggestionCard
from handlers.errors import GENERIC_FAILURE, UserError
from tests.fakes.slack_api import Fault, Message
from tests.fakes.slack_bot import SIGNING_SECRET, sign
from tests.fakes.slack_inbound import PortBot, RecordingInbound, port_bot

SUPPORT = "C0SUPPORT"
ANA, LEAD = "U0ANA", "U0LEAD"
ALERT_TS = "1772440000.000001"  # the alert whose thread the cards are in
SUGGESTED = "Sorry about that, @jroe! The fix is rolling out now & should reach you soon."


@pytest.fixture
async def pb() -> AsyncIterator[PortBot]:
    async with port_bot(RecordingInbound(texts={"s33": SUGGESTED})) as bot:
        yield bot
    assert bot.fake.violations == []


def _suggestion(mode: str, **kw: Any) -> SuggestionCard:
    fields: dict[str, Any] = {
        "conversation_id": 7,
        "suggestion_id": 33,
        "text": SUGGESTED,
        "label": "offline suggestion from the knowledge base",
        "platform": "mastodon",
        "limit": 500,
        "reply_mode": mode,
        **kw,
    }
    return SuggestionCard(**fields)


def _draft(state: str = "awaiting", **kw: Any) -> ReplyCard:
    fields: dict[str, Any] = {
        "conversation_id": 7,
        "reply_id": 12,
        "state": state,
        "text": "We're on it, @jroe <3",
        "author": "ana",
        "approvers": "a manager or admin",
        "platform": "mastodon",
        **kw,
    }
    return ReplyCard(**fields)


def _buttons(message: Message) -> dict[str, dict[str, Any]]:
    """The message's buttons by action id."""
    return {
        element["action_id"]: element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def _label(button: dict[str, Any]) -> str:
    return str(button["text"]["text"])


async def _told(pb: PortBot, count: int = 1) -> list[dict[str, Any]]:
    """The ephemeral notes in threads so far (waiting for ``count`` of them)."""
    await pb.fake.wait_for(lambda: len(pb.fake.ephemerals) >= count)
    return [e.params for e in pb.fake.ephemerals]


async def _until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (bounded) for the bot's work after the ack (nothing Slack sees)."""
    for _ in range(int(seconds / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not done in time")


# -- the suggestion card ---------------------------------------------------------------------


async def test_send_on_a_direct_card_publishes_the_suggestions_text(pb: PortBot) -> None:
    pb.inbound.answers["send_reply"] = "Queued your reply to #7 for publishing on Mastodon."
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    buttons = _buttons(card)
    assert list(buttons) == [SUGGESTION_SEND, SUGGESTION_EDIT, SUGGESTION_UP, SUGGESTION_DOWN]
    send = buttons[SUGGESTION_SEND]
    assert (_label(send), send["style"]) == ("Send", "primary")
    assert "Publish this reply on Mastodon" in send["confirm"]["text"]["text"]
    assert _label(buttons[SUGGESTION_EDIT]) == "Edit & send"

    answer = await pb.press(card, SUGGESTION_SEND, ANA)

    assert answer.ephemeral
    assert answer.text == "Queued your reply to #7 for publishing on Mastodon."
    (call,) = pb.inbound.of("send_reply")
    assert call["delivery_id"] is not None and call["delivery_id"].startswith("action:")
    assert {**call, "delivery_id": None} == {
        "user": ANA,
        "conversation_id": 7,
        "text": SUGGESTED,  # as the bot has it, not the escaped, clipped message
        "suggestion_id": 33,
        "delivery_id": None,
    }


async def test_an_approve_card_says_send_for_approval(pb: PortBot) -> None:
    card = await pb.post(SUPPORT, _suggestion("approve"), ALERT_TS)
    send = _buttons(card)[SUGGESTION_SEND]
    assert _label(send) == "Send for approval"
    assert "approval" in send["confirm"]["text"]["text"]
    pb.inbound.answers["send_reply"] = "Drafted r12; a manager or admin must approve it."
    answer = await pb.press(card, SUGGESTION_SEND, ANA)
    assert answer.text == "Drafted r12; a manager or admin must approve it."


async def test_a_refused_send_is_told_in_words(pb: PortBot) -> None:
    pb.inbound.answers["send_reply"] = UserError("Replies from chat are off in #support.")
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    answer = await pb.press(card, SUGGESTION_SEND, ANA)
    assert (answer.text, answer.ephemeral) == ("Replies from chat are off in #support.", True)
    pb.inbound.answers["send_reply"] = RuntimeError("database password=hunter2 refused")
    answer = await pb.press(card, SUGGESTION_SEND, ANA)
    assert answer.text == GENERIC_FAILURE


async def test_mark_replied_on_an_off_card_records_a_reply_made_elsewhere(pb: PortBot) -> None:
    pb.inbound.answers["suggestion"] = "Recorded your reply on #7."
    card = await pb.post(SUPPORT, _suggestion("off"), ALERT_TS)
    buttons = _buttons(card)
    assert list(buttons) == [SUGGESTION_USE, SUGGESTION_UP, SUGGESTION_DOWN]  # no Send
    assert _label(buttons[SUGGESTION_USE]) == "Mark replied"
    answer = await pb.press(card, SUGGESTION_USE, ANA)
    assert answer.text == "Recorded your reply on #7."
    (call,) = pb.inbound.of("suggestion")
    assert (call["verb"], call["suggestion_id"]) == ("use", 33)
    assert pb.inbound.of("send_reply") == []


async def test_a_card_posted_before_send_existed_still_works(pb: PortBot) -> None:
    old = await pb.post(SUPPORT, _suggestion("off"), ALERT_TS)
    for block in old.blocks:  # as cards were posted then: "sug:33", "Use", value "33"
        if block["type"] == "actions":
            block["block_id"] = "sug:33"
            block["elements"][0]["value"] = "33"
    await pb.press(old, SUGGESTION_USE, ANA)
    assert [c["verb"] for c in pb.inbound.of("suggestion")] == ["use"]


async def test_a_redelivered_send_carries_the_same_delivery_id(pb: PortBot) -> None:
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    payload = pb.press_payload(card, SUGGESTION_SEND, ANA)
    for n in (1, 2):  # Slack retries a press it thinks went unanswered
        await pb.interact(payload)
        await _until(lambda n=n: len(pb.inbound.of("send_reply")) == n)  # type: ignore[misc]
    first, second = pb.inbound.of("send_reply")
    assert first["delivery_id"] == second["delivery_id"] is not None
    another = await pb.press(card, SUGGESTION_SEND, ANA)  # a new press is a new delivery
    assert another.text
    assert pb.inbound.of("send_reply")[2]["delivery_id"] != first["delivery_id"]


# -- Edit & send -----------------------------------------------------------------------------


async def test_edit_and_send_opens_the_suggestion_and_sends_the_edit(pb: PortBot) -> None:
    pb.inbound.answers["send_reply"] = "Queued your reply to #7 for publishing on Mastodon."
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)

    view = await pb.open_modal(card, SUGGESTION_EDIT, ANA)

    assert view.initial_value(TEXT_BLOCK) == SUGGESTED
    assert "Edit & send reply" in view.shown and "Send" in view.shown
    assert [c["ref"] for c in pb.inbound.of("reply_text")] == ["s33"]
    edited = "Sorry, @jroe! Fixed now; a refund is on its way."
    assert await pb.submit(view, ANA, edited) == {}  # the modal closes

    (told,) = await _told(pb)
    assert told["text"] == "Queued your reply to #7 for publishing on Mastodon."
    assert (told["channel"], told["user"], told["thread_ts"]) == (SUPPORT, ANA, ALERT_TS)
    (call,) = pb.inbound.of("send_reply")
    assert (call["conversation_id"], call["text"], call["suggestion_id"]) == (7, edited, 33)
    assert call["delivery_id"] is not None


async def test_an_over_limit_reply_is_shown_under_the_box_and_the_text_kept(
    pb: PortBot,
) -> None:
    limit = "Too long for Mastodon: 612 characters, the limit is 500. Shorten it and send again."
    pb.inbound.answers["send_reply"] = UserError(limit)
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    view = await pb.open_modal(card, SUGGESTION_EDIT, ANA)

    answer = await pb.submit(view, ANA, "x" * 612)

    assert answer == {"response_action": "errors", "errors": {TEXT_BLOCK: limit}}
    assert pb.fake.ephemerals == []  # the modal stays open with the text as typed
    assert await pb.submit(view, ANA, "   \n ") == {
        "response_action": "errors",
        "errors": {TEXT_BLOCK: composer.EMPTY},
    }
    assert len(pb.inbound.of("send_reply")) == 1  # an empty box never reaches the bot


async def test_a_slow_bot_closes_the_modal_and_tells_the_outcome_in_the_thread(
    pb: PortBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(composer, "ACK_BUDGET", 0.05)
    pb.inbound.held = asyncio.Event()
    pb.inbound.answers["send_reply"] = UserError("Too long for Mastodon (the limit is 500).")
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    view = await pb.open_modal(card, SUGGESTION_EDIT, ANA)

    assert await pb.submit(view, ANA, "my long answer") == {}  # closed before Slack gives up
    pb.inbound.held.set()

    (told,) = await _told(pb)
    assert told["text"].startswith("Too long for Mastodon (the limit is 500).")
    assert told["text"].endswith("my long answer")  # nothing typed is lost


async def test_a_suggestion_that_is_gone_is_told_without_a_modal(pb: PortBot) -> None:
    card = await pb.post(SUPPORT, _suggestion("direct", suggestion_id=99), ALERT_TS)
    answer = await pb.press(card, SUGGESTION_EDIT, ANA)
    assert answer.text == "There is no s99."
    assert pb.fake.views == []


async def test_slack_refusing_the_modal_is_told(pb: PortBot) -> None:
    pb.fake.fail("views.open", Fault(error="expired_trigger_id"))
    card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
    answer = await pb.press(card, SUGGESTION_EDIT, ANA)
    assert answer.text == composer.NOT_OPENED


async def test_the_modal_works_over_socket_mode_too() -> None:
    """Socket Mode (the default): the field error travels in the envelope's ack."""
    inbound = RecordingInbound(texts={"s33": SUGGESTED})
    async with port_bot(inbound, mode="socket") as pb:
        card = await pb.post(SUPPORT, _suggestion("direct"), ALERT_TS)
        view = await pb.open_modal(card, SUGGESTION_EDIT, ANA)
        inbound.answers["send_reply"] = UserError("Too long for Mastodon (the limit is 500).")
        refused = await pb.submit(view, ANA, "x" * 600)
        assert refused["errors"] == {TEXT_BLOCK: "Too long for Mastodon (the limit is 500)."}
        inbound.answers["send_reply"] = "Queued your reply to #7."
        assert await pb.submit(view, ANA, "Fixed now!") == {}
        (told,) = await _told(pb)
        assert told["text"] == "Queued your reply to #7."
        assert [c["text"] for c in inbound.of("send_reply")] == ["x" * 600, "Fixed now!"]
    assert pb.fake.violations == []


# -- drafts waiting for approval -------------------------------------------------------------


async def test_a_draft_shows_its_text_author_approvers_and_buttons(pb: PortBot) -> None:
    draft = await pb.post(SUPPORT, _draft(), ALERT_TS)
    assert "Draft reply r12" in draft.shown and "by @ana" in draft.shown
    assert "waiting for approval by a manager or admin" in draft.shown
    assert ">We're on it, @jroe &lt;3" in draft.mrkdwn  # quoted and escaped
    buttons = _buttons(draft)
    assert list(buttons) == [REPLY_APPROVE, REPLY_EDIT, REPLY_REJECT]
    assert buttons[REPLY_APPROVE]["style"] == "primary"
    assert buttons[REPLY_REJECT]["style"] == "danger" and "confirm" in buttons[REPLY_REJECT]
    assert draft.thread_ts == ALERT_TS and "r12" in draft.text


async def test_approve_and_reject_call_review_reply_and_show_the_answer(pb: PortBot) -> None:
    draft = await pb.post(SUPPORT, _draft(), ALERT_TS)
    pb.inbound.answers["review_reply"] = "Approved r12; publishing on Mastodon."
    approved = await pb.press(draft, REPLY_APPROVE, LEAD)
    assert (approved.text, approved.ephemeral) == ("Approved r12; publishing on Mastodon.", True)
    pb.inbound.answers["review_reply"] = UserError("You wrote r12; someone else must approve it.")
    refused = await pb.press(draft, REPLY_APPROVE, ANA)
    assert refused.text == "You wrote r12; someone else must approve it."
    pb.inbound.answers["review_reply"] = "Rejected r12."
    rejected = await pb.press(draft, REPLY_REJECT, LEAD)
    assert rejected.text == "Rejected r12."
    calls = [
        (c["user"], c["reply_id"], c["verb"], c["text"]) for c in pb.inbound.of("review_reply")
    ]
    assert calls == [
        (LEAD, 12, "approve", None),
        (ANA, 12, "approve", None),
        (LEAD, 12, "reject", None),
    ]
    assert all(c["delivery_id"] for c in pb.inbound.of("review_reply"))


async def test_edit_on_a_draft_approves_the_edited_text(pb: PortBot) -> None:
    pb.inbound.texts["r12"] = "We're on it, @jroe <3"
    pb.inbound.answers["review_reply"] = "Approved r12 as edited; publishing on Mastodon."
    draft = await pb.post(SUPPORT, _draft(), ALERT_TS)
    view = await pb.open_modal(draft, REPLY_EDIT, LEAD)
    assert view.initial_value(TEXT_BLOCK) == "We're on it, @jroe <3"
    assert "Edit draft r12" in view.shown and "Approve" in view.shown
    assert await pb.submit(view, LEAD, "We're on it, @jroe.") == {}
    (told,) = await _told(pb)
    assert told["text"] == "Approved r12 as edited; publishing on Mastodon."
    (call,) = pb.inbound.of("review_reply")
    assert (call["user"], call["reply_id"], call["verb"], call["text"]) == (
        LEAD,
        12,
        "approve",
        "We're on it, @jroe.",
    )


# -- each step of a reply --------------------------------------------------------------------


async def test_each_step_of_a_reply_is_said_in_words(pb: PortBot) -> None:
    url = "https://mastodon.example/@acme/113"
    queued = await pb.post(SUPPORT, _draft("queued", approver="lead"), ALERT_TS)
    assert "Publishing on Mastodon…" in queued.shown and "approved by @lead" in queued.shown
    published = await pb.post(SUPPORT, _draft("published", url=url), ALERT_TS)
    assert f"*Published on Mastodon:* <{url}|{url}>" in published.mrkdwn  # a link
    failed = await pb.post(
        SUPPORT, _draft("failed", error="Mastodon refused it: the post was deleted."), ALERT_TS
    )
    assert "could not be published on Mastodon" in failed.shown
    assert "Mastodon refused it: the post was deleted." in failed.shown
    rejected = await pb.post(
        SUPPORT, _draft("rejected", approver="lead", error="not our tone"), ALERT_TS
    )
    assert "Draft r12 rejected by @lead:* not our tone · written by @ana" in rejected.shown
    for message in (queued, published, failed, rejected):
        assert _buttons(message) == {}  # only a draft has buttons
        assert message.thread_ts == ALERT_TS


async def test_huge_cards_stay_within_slacks_limits(pb: PortBot) -> None:
    huge = "<!channel> " + "word " * 2000
    await pb.post(SUPPORT, _suggestion("direct", text=huge, platform="p" * 500), ALERT_TS)
    for state in ("awaiting", "queued", "published", "failed", "rejected"):
        await pb.post(
            SUPPORT,
            _draft(state, text=huge, author="a" * 500, approvers=huge, error=huge, url=None),
            ALERT_TS,
        )
    pb.inbound.texts["s33"] = huge
    card = pb.fake.posts(SUPPORT)[0]
    view = await pb.open_modal(card, SUGGESTION_EDIT, ANA)
    assert len(view.initial_value(TEXT_BLOCK) or "") <= 3000
    assert "<!channel>" not in json.dumps([m.blocks for m in pb.fake.posts(SUPPORT)])


# -- the thread itself -----------------------------------------------------------------------


async def test_a_prefixed_thread_message_reaches_the_bot_as_typed(pb: PortBot) -> None:
    """Slack escapes ``>`` in message text; the bot gets ``>> ...`` back as typed and decides
    (a neutral matter) whether it goes to the customer."""
    body = json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": SUPPORT,
                "user": ANA,
                "text": "&gt;&gt; Fixed now &amp; refunded!",
                "ts": "1772441500.000100",
                "thread_ts": ALERT_TS,
                "channel_type": "channel",
            },
        }
    )
    headers = {"Content-Type": "application/json", **sign(body, int(time.time()), SIGNING_SECRET)}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{pb.http_url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200
    await _until(lambda: bool(pb.inbound.of("thread_message")))
    (call,) = pb.inbound.of("thread_message")
    assert call == {"channel": SUPPORT, "thread_ref": ALERT_TS, "text": ">> Fixed now & refunded!"}
