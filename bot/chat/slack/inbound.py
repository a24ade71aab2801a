"""Slack payloads -> neutral events, in one place (slash commands, buttons, thread messages).

Nothing here talks to Slack or the database; it only reads payloads.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.chat.slack.blocks import CLAIM, HANDOFF, LEAD, REOPEN, REPLIED, RESOLVE
from handlers.cleantext import clean
from handlers.events import Action, Actor, Command
from handlers.safelog import shown

log = logging.getLogger(__name__)

MAX_MENTIONS = 5
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
ACTION_NAMES = {
    CLAIM: "claim",
    REPLIED: "reply",
    RESOLVE: "resolve",
    HANDOFF: "handoff",
    REOPEN: "reopen",
    LEAD: "lead",
}
# Message subtypes written by a person; edits, joins, bot posts and the like are not replies.
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}


class PayloadError(ValueError):
    """A payload is missing something crmbot needs (logged, never shown to the user)."""


def unusable(exc: PayloadError) -> str:
    """A payload without what crmbot needs: one log line (no traceback), a short answer."""
    log.warning("Slack sent a payload crmbot cannot use: %s", shown(str(exc), 200))
    return "Slack sent that request without what crmbot needs; please try again."


def _text(value: Any) -> str:
    return clean(value) if isinstance(value, str) else ""


def command_user(body: dict[str, Any]) -> tuple[str, str | None]:
    """(user id, user name) of a slash command."""
    user_id = _text(body.get("user_id"))
    if not user_id:
        raise PayloadError("slash command without user_id")
    return user_id, _text(body.get("user_name")) or None


def command_from(body: dict[str, Any], actor: Actor) -> Command:
    """``/crm <text>`` as a neutral Command: Slack's escapes undone, user mentions left as
    ``<@U123>`` for the neutral handler to turn into staff names."""
    return Command(
        actor=actor,
        text=neutral_command_text(_text(body.get("text")).strip()),
        channel=_text(body.get("channel_id")) or None,
        raw=body,
        delivery_id=_key("command", _text(body.get("trigger_id"))),
    )


def _key(kind: str, *parts: str) -> str | None:
    """A delivery key (handlers/once.py) from the payload's ids; None when it has none."""
    return f"{kind}:{':'.join(parts)}" if all(parts) else None


def action_delivery(body: dict[str, Any]) -> str | None:
    """The key of a block_actions delivery: its trigger_id, else where and when it was pressed."""
    trigger = _text(body.get("trigger_id"))
    if trigger:
        return _key("action", trigger)
    container = body.get("container") or {}
    first = (body.get("actions") or [{}])[0]
    return _key(
        "action",
        _text(container.get("channel_id")),
        _text(container.get("message_ts")),
        _text(first.get("action_ts") if isinstance(first, dict) else None),
    )


def event_delivery(body: dict[str, Any]) -> str | None:
    """The key of an Events API delivery: its ``event_id`` (the same on Slack's retries)."""
    return _key("event", _text(body.get("event_id")))


def mentioned_users(text: str) -> list[tuple[str, str | None]]:
    """The first MAX_MENTIONS distinct ``<@U123|name>`` mentions in a command's text:
    (user id, name). No command names more people; the cap bounds the lookups a
    command can cause."""
    found: dict[str, str | None] = {}
    for match in USER_MENTION.finditer(text):
        if len(found) >= MAX_MENTIONS:
            break
        found.setdefault(match.group(1), match.group(2) or None)
    return list(found.items())


def neutral_command_text(text: str) -> str:
    """Command text with Slack's escapes undone and ``<@U123|name>`` as ``<@U123>``."""
    return html.unescape(USER_MENTION.sub(lambda m: f"<@{m.group(1)}>", text))


def action_user(body: dict[str, Any]) -> tuple[str, str | None]:
    """(user id, user name) of whoever pressed a button."""
    user = body.get("user") or {}
    user_id = _text(user.get("id"))
    if not user_id:
        raise PayloadError("block action without user.id")
    return user_id, _text(user.get("username")) or _text(user.get("name")) or None


def action_from(body: dict[str, Any], actor: Actor) -> Action:
    """The first action of a block_actions payload as a neutral Action.

    The conversation id rides in the button's value, or in the actions block's id
    (``crm:<id>``) for the hand-off user picker, whose value is the picked user.
    """
    actions = body.get("actions") or []
    if not actions:
        raise PayloadError("block_actions without actions")
    raw = actions[0]
    action_id = _text(raw.get("action_id"))
    name = ACTION_NAMES.get(action_id)
    if name is None:
        raise PayloadError(f"unknown action_id {action_id!r}")
    conversation = _text(raw.get("value")) if action_id != HANDOFF else ""
    if not (conversation.isascii() and conversation.isdigit()):
        conversation = _text(raw.get("block_id")).removeprefix("crm:")
    if not (conversation.isascii() and conversation.isdigit()):
        raise PayloadError(f"no conversation id in action {action_id!r}")
    value = (_text(raw.get("selected_user")) or None) if action_id == HANDOFF else None
    return Action(
        actor=actor,
        name=name,
        conversation_id=int(conversation[:30]),
        value=value,
        raw=body,
        delivery_id=action_delivery(body),
    )


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A person's message inside a thread."""

    channel: str
    thread_ts: str
    user_id: str
    text: str


def thread_message(event: dict[str, Any]) -> ThreadMessage | None:
    """A person's reply in a thread, or None for anything else (bots, edits, top level)."""
    if event.get("bot_id") or event.get("subtype") not in PERSON_SUBTYPES:
        return None
    channel = _text(event.get("channel"))
    thread_ts = _text(event.get("thread_ts"))
    user_id = _text(event.get("user"))
    if not (channel and thread_ts and user_id) or event.get("ts") == thread_ts:
        return None
    return ThreadMessage(
        channel=channel,
        thread_ts=thread_ts,
        user_id=user_id,
        text=html.unescape(_text(event.get("text"))),
    )
