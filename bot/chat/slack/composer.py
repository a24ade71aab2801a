"""Answering the customer from Slack: opening the edit box and acting on its submission.

Opening: the button's listener has already acknowledged (Slack's 3 seconds); the text to
prefill comes from :meth:`ChatInbound.reply_text`, then ``views.open`` with the press's
``trigger_id`` (valid for 3 seconds too, which the text lookup stays well within).

Submitting (``view_submission``): an empty box, or a reply the bot refuses (over the
platform's limit, replies off in the channel, not an approver...), is answered with
``response_action: errors`` under the box, so the modal stays open with the text as typed.
Otherwise the modal closes and the outcome ("Queued for publishing on Mastodon", "Sent
for approval") is told ephemerally in the alert's thread, where the published link will
appear. Should the bot take longer than Slack waits for a view answer, the modal is
closed and whatever happens (a refusal too, with the text to copy) is told in the thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.errors import CALL_ERRORS, delivery_error
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.inbound import PayloadError, action_user, unusable
from bot.chat.slack.modals import (
    ModalContext,
    edit_view,
    field_error,
    submission_context,
    submitted_text,
)
from bot.chat.slack.mrkdwn import clip
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.events import Actor
from handlers.inbound_port import ChatInbound

log = logging.getLogger(__name__)

ACK_BUDGET = 2.5  # seconds to wait for the bot before closing the modal (Slack waits 3)
EMPTY = "Write the reply first: the box is empty."
NOT_OPENED = "Slack did not open the edit box (it allows 3 seconds); press the button again."


async def told(work: Callable[[], Awaitable[str]], what: str) -> str:
    """What to tell the person after ``work``: its answer, a UserError's reason, or the
    generic line (with the traceback in the log) for anything unexpected."""
    try:
        return await work()
    except UserError as exc:
        return exc.reason
    except PayloadError as exc:
        return unusable(exc)
    except Exception:
        log.exception("Slack %s failed", what)
        return GENERIC_FAILURE


async def answer_press(respond: AsyncRespond, text: str, what: str) -> None:
    """Tell the presser ``text`` privately (nothing when it is empty: a modal opened)."""
    if not text:
        return
    try:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    except CALL_ERRORS as exc:
        log.warning("answering a %s failed: %s", what, type(exc).__name__)


async def tell_in_thread(
    client: AsyncWebClient, channel: str, user_id: str, thread_ts: str, text: str
) -> None:
    """An ephemeral note to ``user_id`` in the thread ``thread_ts`` of ``channel``."""
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user_id, text=text, thread_ts=thread_ts
        )
    except CALL_ERRORS as exc:
        log.warning(
            "could not tell a Slack user: %s", delivery_error("chat.postEphemeral", exc).reason
        )


def pressed_in(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, thread ts) of the message whose button was pressed: its thread when it is
    in one (a suggestion or reply card is), else the message itself."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    thread = message.get("thread_ts") or container.get("thread_ts") or container.get("message_ts")
    if not channel or not isinstance(thread, str) or not thread:
        raise PayloadError("a button press without its channel and message")
    return channel, thread


def submission_delivery(body: dict[str, Any]) -> str | None:
    """The key of a ``view_submission`` (its trigger_id; each submit gets a new one)."""
    trigger = body.get("trigger_id")
    return f"view:{trigger}" if isinstance(trigger, str) and trigger else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bot said to a submitted reply: ``answer`` to tell, or ``refusal`` to show
    under the box."""

    answer: str | None = None
    refusal: str | None = None


class ReplyComposer:
    """Opens the edit box and hands its submissions to the bot's inbound port."""

    def __init__(
        self,
        inbound: Callable[[], ChatInbound],
        identities: SlackIdentities,
        client: AsyncWebClient,
    ) -> None:
        self._inbound = inbound
        self.identities = identities
        self.client = client

    async def open(
        self, body: dict[str, Any], actor: Actor, context: ModalContext, ref: str
    ) -> str:
        """Open the edit box prefilled with ``ref``'s text; returns what to tell the presser
        when it could not be opened ('' when it was)."""
        trigger = body.get("trigger_id")
        if not isinstance(trigger, str) or not trigger:
            raise PayloadError("a button press without trigger_id")
        text = await self._inbound().reply_text(actor, ref)
        try:
            await self.client.views_open(trigger_id=trigger, view=edit_view(context, text))
        except CALL_ERRORS as exc:
            log.warning(
                "opening the reply modal failed: %s", delivery_error("views.open", exc).reason
            )
            return NOT_OPENED
        return ""

    async def on_submit(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A submitted edit box: refuse under the box, or close it and tell the outcome."""
        try:
            context = submission_context(body)
            user_id, name = action_user(body)
        except PayloadError as exc:
            await ack(**field_error(unusable(exc)))
            return
        text = submitted_text(body)
        if not text:
            await ack(**field_error(EMPTY))
            return
        work = asyncio.ensure_future(self._submit(user_id, name, context, text, body))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(work), ACK_BUDGET)
        except TimeoutError:
            await ack()  # Slack stops waiting soon: close the box, tell the outcome after
            outcome = await work
            if outcome.refusal is not None:
                quoted = clip(text, 2500)  # escaped: Slack reads the note as mrkdwn
                outcome = Outcome(answer=f"{outcome.refusal}\nYour text, to try again:\n{quoted}")
        else:
            if outcome.refusal is not None:
                await ack(**field_error(outcome.refusal))
                return
            await ack()
        if outcome.answer:
            await tell_in_thread(
                self.client, context.channel, user_id, context.thread_ts, outcome.answer
            )

    async def _submit(
        self, user_id: str, name: str | None, context: ModalContext, text: str, body: dict[str, Any]
    ) -> Outcome:
        delivery = submission_delivery(body)
        try:
            actor = await self.identities.actor(user_id, name)
            if context.purpose == "send":
                assert context.conversation_id is not None
                answer = await self._inbound().send_reply(
                    actor, context.conversation_id, text, context.suggestion_id, delivery
                )
            else:
                assert context.reply_id is not None
                answer = await self._inbound().review_reply(
                    actor, context.reply_id, "approve", text, delivery
                )
        except UserError as exc:
            return Outcome(refusal=exc.reason)
        except Exception:
            log.exception("Slack reply modal failed")
            return Outcome(refusal=GENERIC_FAILURE)
        return Outcome(answer=answer)
