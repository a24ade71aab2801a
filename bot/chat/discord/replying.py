"""Answering the customer from a Discord thread: Send and Edit & send on a suggested reply,
Approve / Edit / Reject on a draft, and the edit box's submit.

Buttons that act are deferred first (Discord's 3 seconds) and answered privately. Buttons
that open the edit box cannot defer: a modal must be the first response, so the text to
pre-fill it with is fetched within :data:`MODAL_BUDGET` seconds, and a failure is
answered privately instead. A refused submit hands the person's text back with the
reason, since a Discord modal cannot show an error next to its field.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.chat.discord.components import ReviewButtonVerb, SendHow
from bot.chat.discord.errors import CALL_ERRORS, delivery_error
from bot.chat.discord.identity import NOT_STAFF, actor_of, has_role
from bot.chat.discord.modals import EditTarget, reply_modal, submitted_text, target_of
from bot.chat.discord.respond import defer, tell, tell_keeping
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.events import Actor
from handlers.inbound_port import ChatInbound

log = logging.getLogger(__name__)

MODAL_BUDGET = 2.0  # seconds to fetch the pre-filled text; Discord allows 3 in all
SLOW = "Loading the text took too long; press the button again."
NO_TEXT = "The edit box came back empty: nothing was sent."

Work = Callable[[Actor], Awaitable[str]]


class ReplyListeners:
    """The reply buttons and the edit box, handed to the bot's :class:`ChatInbound`."""

    def __init__(self, inbound: Callable[[], ChatInbound]) -> None:
        self._inbound = inbound

    async def allowed(self, actor: Actor) -> bool:
        """Staff (by record or by ``[roles]``, directly or through a Discord role)."""
        inbound = self._inbound()
        return has_role(inbound.config(), actor) or await inbound.is_staff(actor)

    async def _run(self, interaction: discord.Interaction[Any], work: Work, what: str) -> str:
        """``work`` for the person who pressed, as the words to tell them."""
        try:
            actor = actor_of(interaction.user)
            if not await self.allowed(actor):
                return NOT_STAFF
            return await work(actor)
        except UserError as exc:
            return exc.reason
        except Exception:
            log.exception("Discord %s failed", what)
            return GENERIC_FAILURE

    # -- buttons ------------------------------------------------------------------------------

    async def on_send(
        self,
        interaction: discord.Interaction[Any],
        how: SendHow,
        conversation_id: int,
        suggestion_id: int,
    ) -> None:
        """Send the suggestion as it is, or open the edit box pre-filled with it."""
        target = EditTarget("suggestion", suggestion_id, conversation_id)
        if how == "edit":
            await self._open_editor(interaction, target)
            return
        await defer(interaction, ephemeral=True)
        inbound = self._inbound()

        async def send(actor: Actor) -> str:
            text = await inbound.reply_text(actor, target.ref)
            return await inbound.send_reply(
                actor,
                conversation_id,
                text,
                suggestion_id=suggestion_id,
                delivery_id=f"interaction:{interaction.id}",
            )

        await tell(interaction, await self._run(interaction, send, "Send"))

    async def on_review(
        self, interaction: discord.Interaction[Any], verb: ReviewButtonVerb, reply_id: int
    ) -> None:
        """Approve or reject a draft as it is, or open the edit box to change it first."""
        if verb == "edit":
            await self._open_editor(interaction, EditTarget("reply", reply_id))
            return
        await defer(interaction, ephemeral=True)
        inbound = self._inbound()

        async def review(actor: Actor) -> str:
            return await inbound.review_reply(
                actor, reply_id, verb, delivery_id=f"interaction:{interaction.id}"
            )

        await tell(interaction, await self._run(interaction, review, verb.capitalize()))

    async def _open_editor(self, interaction: discord.Interaction[Any], target: EditTarget) -> None:
        """The edit box as the first response, or a private answer saying why not."""
        try:
            async with asyncio.timeout(MODAL_BUDGET):
                actor = actor_of(interaction.user)
                if not await self.allowed(actor):
                    await tell(interaction, NOT_STAFF, first=True)
                    return
                text = await self._inbound().reply_text(actor, target.ref)
        except UserError as exc:
            await tell(interaction, exc.reason, first=True)
            return
        except TimeoutError:
            log.warning("Discord: the text for %s took over %.1fs", target.ref, MODAL_BUDGET)
            await tell(interaction, SLOW, first=True)
            return
        except Exception:
            log.exception("Discord: loading the text for %s failed", target.ref)
            await tell(interaction, GENERIC_FAILURE, first=True)
            return
        try:
            await interaction.response.send_modal(reply_modal(target, text))
        except CALL_ERRORS as exc:
            log.warning(
                "opening a Discord edit box failed: %s", delivery_error("modal", exc).reason
            )

    # -- the edit box -------------------------------------------------------------------------

    async def on_modal_submit(self, interaction: discord.Interaction[Any]) -> None:
        """The edited text: sent (a suggestion) or approved (a draft). When it is refused,
        the person gets the reason and their text back."""
        data: dict[str, Any] = dict(interaction.data or {})
        target = target_of(str(data.get("custom_id", "")))
        if target is None:
            return
        await defer(interaction, ephemeral=True)
        text = submitted_text(data)
        if not text or not text.strip():
            await tell(interaction, NO_TEXT)
            return
        inbound = self._inbound()
        delivery = f"interaction:{interaction.id}"
        try:
            actor = actor_of(interaction.user)
            if not await self.allowed(actor):
                await tell(interaction, NOT_STAFF)
                return
            if target.kind == "suggestion" and target.conversation_id is not None:
                told = await inbound.send_reply(
                    actor,
                    target.conversation_id,
                    text,
                    suggestion_id=target.number,
                    delivery_id=delivery,
                )
            else:
                told = await inbound.review_reply(
                    actor, target.number, "approve", text=text, delivery_id=delivery
                )
        except UserError as exc:
            await tell_keeping(interaction, exc.reason, text)
            return
        except Exception:
            log.exception("Discord edit box for %s failed", target.ref)
            await tell_keeping(interaction, GENERIC_FAILURE, text)
            return
        await tell(interaction, told)
