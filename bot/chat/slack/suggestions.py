"""Slack buttons on a suggested reply: Use, 👍 and 👎.

Registered next to the alert buttons by :func:`register`; like them, each listener
acknowledges first, then runs the platform-neutral handler (handlers/suggest/staff.py)
in a thread and tells the presser the result, ephemerally.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.chat.slack.blocks import SUGGESTION_DOWN, SUGGESTION_PREFIX, SUGGESTION_UP, SUGGESTION_USE
from bot.chat.slack.errors import CALL_ERRORS
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.inbound import PayloadError, action_delivery, action_user, unusable
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.inbound_port import ChatInbound, SuggestionVerb
from handlers.suggest import ids

log = logging.getLogger(__name__)


def suggestion_action(body: dict[str, Any]) -> tuple[str, int]:
    """(action id, suggestion id) of a press on a suggestion's button."""
    actions = body.get("actions") or []
    if not actions:
        raise PayloadError("block_actions without actions")
    action_id = str(actions[0].get("action_id") or "")
    value = str(actions[0].get("value") or "")
    if action_id not in (SUGGESTION_USE, SUGGESTION_UP, SUGGESTION_DOWN):
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


VERBS: dict[str, SuggestionVerb] = {
    SUGGESTION_USE: "use",
    SUGGESTION_UP: "up",
    SUGGESTION_DOWN: "down",
}


class SuggestionListeners:
    """The listener for the suggestion buttons."""

    def __init__(self, inbound: Callable[[], ChatInbound], identities: SlackIdentities) -> None:
        self._inbound = inbound
        self.identities = identities

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            actor = await self.identities.actor(*action_user(body))
            action_id, suggestion_id = suggestion_action(body)
            text = await self._inbound().suggestion(
                actor, VERBS[action_id], suggestion_id, action_delivery(body)
            )
        except UserError as exc:
            text = exc.reason
        except PayloadError as exc:
            text = unusable(exc)
        except Exception:
            log.exception("Slack suggestion button failed")
            text = GENERIC_FAILURE
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except CALL_ERRORS as exc:
            log.warning("answering a suggestion button failed: %s", type(exc).__name__)


def register(app: AsyncApp, listeners: SuggestionListeners) -> None:
    """Route every ``sug_*`` button to the suggestion listener."""
    app.action(re.compile(f"^{re.escape(SUGGESTION_PREFIX)}"))(listeners.on_action)
