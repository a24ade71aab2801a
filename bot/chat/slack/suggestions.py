"""Slack buttons on a suggested reply: Send, Edit & send, Mark replied, 👍 and 👎.

Registered next to the alert buttons by :func:`register`; like them, each listener
acknowledges first, then runs the platform-neutral handler in a thread and tells the
presser the result, ephemerally. **Send** publishes the suggestion's own text (read back
from the bot, not from the message, which is escaped and may be clipped); **Edit & send**
opens the edit box (slack/composer.py); **Mark replied** (action id ``sug_use``, kept so
cards posted before it was renamed still work) records a reply made elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat.slack.blocks import (
    SUGGESTION_DOWN,
    SUGGESTION_EDIT,
    SUGGESTION_PREFIX,
    SUGGESTION_SEND,
    SUGGESTION_UP,
    SUGGESTION_USE,
)
from bot.chat.slack.composer import ReplyComposer, answer_press, pressed_in, told
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.inbound import PayloadError, action_delivery, action_user
from bot.chat.slack.modals import ModalContext
from handlers import ids
from handlers.events import Actor
from handlers.inbound_port import ChatInbound, SuggestionVerb

log = logging.getLogger(__name__)

VERBS: dict[str, SuggestionVerb] = {
    SUGGESTION_USE: "use",
    SUGGESTION_UP: "up",
    SUGGESTION_DOWN: "down",
}


def suggestion_action(body: dict[str, Any]) -> tuple[str, int]:
    """(action id, suggestion id) of a press on a suggestion's button."""
    actions = body.get("actions") or []
    if not actions:
        raise PayloadError("block_actions without actions")
    action_id = str(actions[0].get("action_id") or "")
    value = str(actions[0].get("value") or "")
    if action_id not in (*VERBS, SUGGESTION_SEND, SUGGESTION_EDIT):
        raise PayloadError(f"not a suggestion button: {action_id!r}")
    ref = ids.parse(value[:40])
    # buttons carry "s33"; cards posted before ids had kinds carry "33" (a suggestion too)
    if (
        ref is None
        or ref.kind not in (ids.Kind.SUGGESTION, ids.Kind.CONVERSATION)
        or value[:1] == "#"
    ):
        raise PayloadError(f"not a suggestion id on a suggestion button: {value!r}")
    return action_id, ref.number


def card_conversation(body: dict[str, Any]) -> int:
    """The conversation a suggestion card is about, from its block id
    (``sug:<suggestion>:<conversation>``)."""
    actions = body.get("actions") or [{}]
    parts = str(actions[0].get("block_id") or "").split(":")
    if len(parts) != 3 or parts[0] != "sug" or not (parts[2].isascii() and parts[2].isdigit()):
        raise PayloadError("a Send button without its conversation in the block id")
    return int(parts[2][:18])


class SuggestionListeners:
    """The listener for the suggestion buttons."""

    def __init__(
        self,
        inbound: Callable[[], ChatInbound],
        identities: SlackIdentities,
        composer: ReplyComposer,
    ) -> None:
        self._inbound = inbound
        self.identities = identities
        self.composer = composer

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text = await told(lambda: self._act(body), "suggestion button")
        await answer_press(respond, text, "suggestion button")

    async def _act(self, body: dict[str, Any]) -> str:
        actor = await self.identities.actor(*action_user(body))
        action_id, suggestion_id = suggestion_action(body)
        if action_id == SUGGESTION_SEND:
            return await self._send(actor, body, suggestion_id)
        if action_id == SUGGESTION_EDIT:
            channel, thread_ts = pressed_in(body)
            context = ModalContext(
                purpose="send",
                channel=channel,
                thread_ts=thread_ts,
                conversation_id=card_conversation(body),
                suggestion_id=suggestion_id,
            )
            return await self.composer.open(body, actor, context, f"s{suggestion_id}")
        return await self._inbound().suggestion(
            actor, VERBS[action_id], suggestion_id, action_delivery(body)
        )

    async def _send(self, actor: Actor, body: dict[str, Any], suggestion_id: int) -> str:
        """Send the suggestion as it stands (the bot reads its text back)."""
        conversation_id = card_conversation(body)
        inbound = self._inbound()
        text = await inbound.reply_text(actor, f"s{suggestion_id}")
        return await inbound.send_reply(
            actor, conversation_id, text, suggestion_id, action_delivery(body)
        )


def register(app: AsyncApp, listeners: SuggestionListeners) -> None:
    """Route every ``sug_*`` button to the suggestion listener."""
    app.action(re.compile(f"^{re.escape(SUGGESTION_PREFIX)}"))(listeners.on_action)
