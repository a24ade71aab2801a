"""Slack buttons on a drafted reply: Approve, Edit (the edit box, then approve) and Reject.

Each acknowledges first, hands the press to :meth:`ChatInbound.review_reply` (which checks
who may approve: the configured approvers, never the draft's author) and tells the
presser the bot's answer ephemerally. A press Slack delivers twice carries the same
delivery key, so it is acted on once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat.slack.composer import ReplyComposer, answer_press, pressed_in, told
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.inbound import PayloadError, action_delivery, action_user
from bot.chat.slack.modals import REVIEW_CALLBACK, SEND_CALLBACK, ModalContext
from bot.chat.slack.reply_card import REPLY_APPROVE, REPLY_EDIT, REPLY_PREFIX, REPLY_REJECT
from handlers.inbound_port import ChatInbound, ReviewVerb

log = logging.getLogger(__name__)

REF = re.compile(r"^r(\d{1,18})$")
VERBS: dict[str, ReviewVerb] = {REPLY_APPROVE: "approve", REPLY_REJECT: "reject"}


def review_action(body: dict[str, Any]) -> tuple[str, int]:
    """(action id, draft id) of a press on a drafted reply's button."""
    actions = body.get("actions") or []
    if not actions:
        raise PayloadError("block_actions without actions")
    action_id = str(actions[0].get("action_id") or "")
    if action_id not in (REPLY_APPROVE, REPLY_EDIT, REPLY_REJECT):
        raise PayloadError(f"not a reply button: {action_id!r}")
    match = REF.match(str(actions[0].get("value") or "")[:40])
    if match is None:
        raise PayloadError("a reply button without its draft id")
    return action_id, int(match.group(1))


class ReviewListeners:
    """The listener for the buttons on a drafted reply."""

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
        text = await told(lambda: self._act(body), "reply button")
        await answer_press(respond, text, "reply button")

    async def _act(self, body: dict[str, Any]) -> str:
        actor = await self.identities.actor(*action_user(body))
        action_id, reply_id = review_action(body)
        if action_id == REPLY_EDIT:
            channel, thread_ts = pressed_in(body)
            context = ModalContext(
                purpose="review", channel=channel, thread_ts=thread_ts, reply_id=reply_id
            )
            return await self.composer.open(body, actor, context, f"r{reply_id}")
        return await self._inbound().review_reply(
            actor, reply_id, VERBS[action_id], None, action_delivery(body)
        )


def register(app: AsyncApp, listeners: ReviewListeners) -> None:
    """Route every ``rep_*`` button, and both edit boxes' submissions."""
    app.action(re.compile(f"^{re.escape(REPLY_PREFIX)}"))(listeners.on_action)
    for callback in (SEND_CALLBACK, REVIEW_CALLBACK):
        app.view(callback)(listeners.composer.on_submit)
