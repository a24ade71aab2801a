"""The blocking side of Slack's listeners: neutral handlers and queries, run in a thread.

Each function takes neutral values, does its database work through ``handlers`` and
``storage``, and returns what to tell the user. UserError passes through to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.chat.slack.inbound import ThreadMessage, mentioned_users, plain_command_text
from handlers import actions, once
from handlers.commands import handle_command
from handlers.config import CrmbotConfig
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Action, Actor, Command, ThreadReply
from handlers.replies import Reply
from storage import outbox as outbox_store

PLATFORM = "slack"


def run_command(ctx: BotContext, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
    """Run ``/crm``; user mentions in the text become the staff names handlers know (a
    mention of someone who is not staff stays as Slack wrote it, and makes no record)."""
    names: dict[str, str] = {}
    if mentioned_users(command.text):
        with ctx.db.session() as session:
            for user_id, actor in mentioned.items():
                staff = actions.staff_named(session, ctx, actor)
                if staff is not None:
                    names[user_id] = staff.name
    return handle_command(ctx, replace(command, text=plain_command_text(command.text, names)))


def run_action(ctx: BotContext, action: Action, target: Actor | None = None) -> str:
    """Do what a button asked (once per delivery); returns the message for the presser."""
    return once.run(
        ctx.db,
        action.actor.platform,
        action.delivery_id,
        lambda: _run_action(ctx, action, target),
        str,
    )


def _run_action(ctx: BotContext, action: Action, target: Actor | None) -> str:
    actor, conversation_id = action.actor, action.conversation_id
    if action.name == "claim":
        return actions.claim(ctx, actor, conversation_id).message
    if action.name == "reply":
        return actions.reply(ctx, actor, conversation_id, None).message
    if action.name == "resolve":
        return actions.resolve(ctx, actor, conversation_id).message
    if action.name == "reopen":
        return actions.reopen(ctx, actor, conversation_id).message
    if action.name == "handoff":
        if target is None:
            raise UserError("Pick the person to hand the conversation to.")
        with ctx.db.session() as session:
            picked = actions.staff_named(session, ctx, target)
        if picked is None:
            raise UserError(f"<@{target.user_id}> is not on the crmbot staff list.")
        return actions.hand_off(ctx, actor, conversation_id, picked.name).message
    raise ValueError(f"unknown action {action.name!r}")


def replies_counted(config: CrmbotConfig, channel_id: str) -> bool:
    """Whether staff messages in this channel's alert threads are replies to the customer."""
    return not any(
        channel.slack == channel_id and channel.mode == "alerts-only"
        for channel in config.channels.values()
    )


def alert_thread(ctx: BotContext, message: ThreadMessage) -> int | None:
    """The conversation whose alert thread the message is in (None: not one, or not counted)."""
    if not replies_counted(ctx.config, message.channel):
        return None
    with ctx.db.session() as session:
        return outbox_store.conversation_for_message(
            session, PLATFORM, message.channel, message.thread_ts
        )


def record_thread_reply(
    ctx: BotContext,
    conversation_id: int,
    actor: Actor,
    text: str,
    delivery_id: str | None = None,
) -> str:
    """Record the staff member's thread message as their reply to the customer."""
    event = ThreadReply(actor, conversation_id, text, delivery_id)
    return actions.thread_reply(ctx, event).message
