"""The port chat adapters hand neutral inbound events to.

Adapters depend on this small interface only (not on the bot, the database or storage):
every method is a coroutine that does its blocking work off the event loop, and
returns what to tell the person. A ``UserError`` raised here carries a reason to show
as written; anything else is a bug to log while the person sees the generic line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from handlers.config import CrmbotConfig
from handlers.events import Action, Actor, Command
from handlers.replies import Reply

SuggestionVerb = Literal["use", "up", "down"]
ReviewVerb = Literal["approve", "reject"]


class ChatInbound(Protocol):
    """What a chat platform can ask the bot to do."""

    def config(self) -> CrmbotConfig:
        """The live config (channels, roles, platform sections)."""
        ...

    async def command(self, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
        """Run ``/crm ...``; ``mentioned`` maps platform user ids in the text to actors."""
        ...

    async def action(self, action: Action, target: Actor | None = None) -> str:
        """A button on an alert (``target`` is the person picked for a hand-off)."""
        ...

    async def suggestion(
        self,
        actor: Actor,
        verb: SuggestionVerb,
        suggestion_id: int,
        delivery_id: str | None = None,
    ) -> str:
        """A button on a suggested reply: use it, or vote it up or down (once per
        ``delivery_id``, the platform's id of the press)."""
        ...

    async def thread_message(
        self,
        actor: Actor,
        channel: str,
        thread_ref: str,
        text: str,
        delivery_id: str | None = None,
    ) -> str | None:
        """A person's message in a thread of ``channel`` on ``actor.platform`` (once per
        ``delivery_id``: platforms redeliver events they think went unanswered).

        Returns what to tell them when it was recorded as their reply to the customer,
        None when the thread is no alert's thread or replies are not counted there.
        """
        ...

    async def send_reply(
        self,
        actor: Actor,
        conversation_id: int,
        text: str,
        suggestion_id: int | None = None,
        delivery_id: str | None = None,
    ) -> str:
        """Answer the customer of ``conversation_id`` with ``text`` (Send / Edit & send on a
        suggestion card, where ``suggestion_id`` is the card's). Depending on the channel's
        ``reply_mode`` it is queued for publishing, or drafted for approval, or refused
        with a ``UserError`` saying why (``off``, over the platform's limit, no publisher).
        Done once per ``delivery_id``."""
        ...

    async def review_reply(
        self,
        actor: Actor,
        reply_id: int,
        verb: ReviewVerb,
        text: str | None = None,
        delivery_id: str | None = None,
    ) -> str:
        """Approve (optionally with edited ``text``) or reject a drafted reply. Only the
        configured approvers may; the author of a draft may not approve it."""
        ...

    async def reply_text(self, actor: Actor, ref: str) -> str:
        """The text to pre-fill an edit box with: ``ref`` is a suggestion id (``s33``) or
        a drafted reply's id (``r12``)."""
        ...

    async def is_staff(self, actor: Actor) -> bool:
        """Whether the platform user already has a staff record."""
        ...
