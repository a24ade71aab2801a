"""Inbound chat events, whichever platform they came from: the :class:`ChatInbound` port.

Adapters translate payloads into neutral events and await these methods; the database
work runs in a worker thread so a slow query never delays an adapter's 3-second answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import replace

from handlers import actions, leads, once, publishing
from handlers.commands import handle_command
from handlers.config import CrmbotConfig
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Action, Actor, Command, ThreadReply
from handlers.inbound_port import ChatInbound, ReviewVerb, SuggestionVerb
from handlers.replies import Reply
from handlers.suggest import staff as suggest_staff
from storage import conversations
from storage import outbox as outbox_store
from storage import staff as staff_store

# Platform user mentions as adapters leave them in command text: ``<@U123|name>`` on Slack,
# ``<@123>`` / ``<@!123>`` on Discord.
USER_MENTION = re.compile(r"<@!?([A-Z0-9]+)(?:\|[^>]*)?>")


def plain_command_text(text: str, names: Mapping[str, str]) -> str:
    """Command text with each user mention as ``@staffname`` (or ``@<id>`` when unknown)."""
    return USER_MENTION.sub(lambda m: f"@{names.get(m.group(1), m.group(1))}", text)


def replies_counted(config: CrmbotConfig, platform: str, channel_id: str) -> bool:
    """Whether staff messages in this channel's alert threads are replies to the customer."""
    return not any(
        getattr(channel, platform, None) == channel_id and channel.mode == "alerts-only"
        for channel in config.channels.values()
    )


class InboundHandlers(ChatInbound):
    """The port, on the bot's context."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def config(self) -> CrmbotConfig:
        return self.ctx.config

    async def command(self, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
        return await asyncio.to_thread(self._command, command, mentioned)

    def _command(self, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
        names: dict[str, str] = {}
        if mentioned:
            with self.ctx.db.session() as session:
                for user_id, actor in mentioned.items():
                    # naming someone never makes them staff; a stranger stays as written
                    staff = actions.staff_named(session, self.ctx, actor)
                    names[user_id] = staff.name if staff is not None else (actor.name or user_id)
        text = plain_command_text(command.text, names)
        return handle_command(self.ctx, replace(command, text=text))

    async def action(self, action: Action, target: Actor | None = None) -> str:
        return await asyncio.to_thread(self._action, action, target)

    def _action(self, action: Action, target: Actor | None) -> str:
        """Do what a button asked, once per delivery (a redelivered press gets the first
        answer again)."""
        return once.run(
            self.ctx.db,
            action.actor.platform,
            action.delivery_id,
            lambda: self._act(action, target),
            str,
        )

    def _act(self, action: Action, target: Actor | None) -> str:
        ctx, actor, conversation_id = self.ctx, action.actor, action.conversation_id
        if action.name == "claim":
            return actions.claim(ctx, actor, conversation_id).message
        if action.name == "reply":
            return actions.reply(ctx, actor, conversation_id, None).message
        if action.name == "resolve":
            return actions.resolve(ctx, actor, conversation_id).message
        if action.name == "reopen":
            return actions.reopen(ctx, actor, conversation_id).message
        if action.name == "lead":
            return leads.create_lead(ctx, actor, conversation_id)
        if action.name == "handoff":
            if target is None:
                raise UserError("Pick the person to hand the conversation to.")
            with ctx.db.session() as session:
                picked = actions.staff_named(session, ctx, target)
            if picked is None:
                who = target.name or target.user_id
                raise UserError(f"{who} is not on the crmbot staff list.")
            return actions.hand_off(ctx, actor, conversation_id, picked.name).message
        raise ValueError(f"unknown action {action.name!r}")

    async def suggestion(
        self,
        actor: Actor,
        verb: SuggestionVerb,
        suggestion_id: int,
        delivery_id: str | None = None,
    ) -> str:
        return await asyncio.to_thread(
            once.run,
            self.ctx.db,
            actor.platform,
            delivery_id,
            lambda: self._suggestion(actor, verb, suggestion_id),
            str,
        )

    def _suggestion(self, actor: Actor, verb: SuggestionVerb, suggestion_id: int) -> str:
        if verb == "use":
            return suggest_staff.use(self.ctx, actor, suggestion_id)
        return suggest_staff.vote(self.ctx, actor, suggestion_id, 1 if verb == "up" else -1)

    async def thread_message(
        self,
        actor: Actor,
        channel: str,
        thread_ref: str,
        text: str,
        delivery_id: str | None = None,
    ) -> str | None:
        try:
            return await asyncio.to_thread(
                self._thread_message, actor, channel, thread_ref, text, delivery_id
            )
        except once.AlreadyDone:
            return None  # a redelivered event: recorded the first time

    def _thread_message(
        self, actor: Actor, channel: str, thread_ref: str, text: str, delivery_id: str | None
    ) -> str | None:
        if not replies_counted(self.ctx.config, actor.platform, channel):
            return None
        with self.ctx.db.session() as session:
            conversation_id = outbox_store.conversation_for_thread(
                session, actor.platform, channel, thread_ref
            )
        if conversation_id is None:
            return None
        return self._thread_reply(actor, conversation_id, text, delivery_id)

    def _thread_reply(
        self, actor: Actor, conversation_id: int, text: str, delivery_id: str | None
    ) -> str | None:
        """With replies on (reply_mode direct or approve), a message starting with the
        ``[replies] prefix`` is a reply to publish and everything else stays internal (not
        counted as a reply). With replies off, any message is the staff member's reply,
        recorded as before; a prefixed one is refused, saying how to turn replies on."""
        prefix = self.ctx.config.replies.prefix
        stripped = text.strip()
        with self.ctx.db.session() as session:
            conversation = conversations.get(session, conversation_id)
            mode = publishing.mode_of(self.ctx.config, conversation) if conversation else "off"
        if stripped.startswith(prefix):
            body = stripped.removeprefix(prefix)
            return self._send(actor, conversation_id, body, None, delivery_id)
        if mode != "off":
            return None
        event = ThreadReply(actor, conversation_id, text, delivery_id)
        return actions.thread_reply(self.ctx, event).message

    async def send_reply(
        self,
        actor: Actor,
        conversation_id: int,
        text: str,
        suggestion_id: int | None = None,
        delivery_id: str | None = None,
    ) -> str:
        return await asyncio.to_thread(
            self._send, actor, conversation_id, text, suggestion_id, delivery_id
        )

    def _send(
        self,
        actor: Actor,
        conversation_id: int,
        text: str,
        suggestion_id: int | None,
        delivery_id: str | None,
    ) -> str:
        return once.run(
            self.ctx.db,
            actor.platform,
            delivery_id,
            lambda: publishing.send(self.ctx, actor, conversation_id, text, suggestion_id),
            str,
        )

    async def review_reply(
        self,
        actor: Actor,
        reply_id: int,
        verb: ReviewVerb,
        text: str | None = None,
        delivery_id: str | None = None,
    ) -> str:
        return await asyncio.to_thread(
            once.run,
            self.ctx.db,
            actor.platform,
            delivery_id,
            lambda: publishing.review(self.ctx, actor, reply_id, verb, text),
            str,
        )

    async def reply_text(self, actor: Actor, ref: str) -> str:
        return await asyncio.to_thread(publishing.text_of, self.ctx, actor, ref)

    async def is_staff(self, actor: Actor) -> bool:
        return await asyncio.to_thread(self._is_staff, actor)

    def _is_staff(self, actor: Actor) -> bool:
        with self.ctx.db.session() as session:
            return (
                staff_store.staff_for_identity(session, actor.platform, actor.user_id) is not None
            )
