"""What the bot does with Discord interactions (slash commands, buttons, the hand-off
picker) and with staff messages in alert threads; the reply buttons and the edit box are
in :mod:`bot.chat.discord.replying`.

Every interaction is deferred first, so Discord gets its answer within 3 seconds whatever
the database or a chart takes; the result follows as a follow-up. A ``UserError`` is shown
as written; anything else is logged and the person sees the generic line. Errors and
personal answers are ephemeral; files go with the answer, CSV exports by direct message.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

import discord

from bot.chat.discord import limits
from bot.chat.discord.components import AlertAction
from bot.chat.discord.errors import CALL_ERRORS, delivery_error
from bot.chat.discord.identity import NOT_STAFF, actor_from_payload, actor_of
from bot.chat.discord.replies import pages
from bot.chat.discord.replying import ReplyListeners
from bot.chat.discord.respond import NO_PINGS
from bot.chat.discord.respond import defer as _defer
from bot.chat.discord.respond import tell as _tell
from handlers.errors import GENERIC_FAILURE, UserError
from handlers.events import Action, Command
from handlers.inbound_port import SuggestionVerb
from handlers.replies import Attachment, Reply

log = logging.getLogger(__name__)

DM_MIME = {"text/csv"}  # exports hold customer data: only the asker gets them
RECORDED = "✅"


class DiscordListeners(ReplyListeners):
    """Interactions and thread messages, handed to the bot's :class:`ChatInbound` port
    (``allowed`` and the reply buttons come from :class:`ReplyListeners`)."""

    # -- slash commands ---------------------------------------------------------------------

    async def on_command(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        *,
        private: bool,
        mentioned: Mapping[str, discord.User | discord.Member] | None = None,
    ) -> None:
        """``/crm <text>``: defer, run the command, answer (ephemeral when it is personal
        or an error)."""
        await _defer(interaction, ephemeral=private)
        try:
            actor = actor_of(interaction.user)
            if not await self.allowed(actor):
                reply = Reply(text=NOT_STAFF, ephemeral=True)
            else:
                command = Command(
                    actor=actor,
                    text=text,
                    channel=str(interaction.channel_id) if interaction.channel_id else None,
                    raw=dict(interaction.data or {}),
                    delivery_id=f"interaction:{interaction.id}",
                )
                people = {str(uid): actor_of(user) for uid, user in (mentioned or {}).items()}
                reply = await self._inbound().command(command, people)
        except UserError as exc:
            reply = Reply(text=exc.reason, ephemeral=True)
        except Exception:
            log.exception("Discord /crm command failed")
            reply = Reply(text=GENERIC_FAILURE, ephemeral=True)
        await self._answer(interaction, reply, deferred_private=private)

    async def _answer(
        self, interaction: discord.Interaction[Any], reply: Reply, *, deferred_private: bool
    ) -> None:
        ephemeral = reply.ephemeral or deferred_private
        files = [a for a in reply.attachments if a.mime not in DM_MIME]
        direct = [a for a in reply.attachments if a.mime in DM_MIME]
        text = reply.text
        if direct:
            sent = await self._send_direct(interaction.user, direct)
            text += (
                "\nSent to you by direct message."
                if sent
                else "\nI could not send you a direct message: allow DMs from this server."
            )
        answer = pages(Reply(text=text, tables=reply.tables, ephemeral=ephemeral))
        try:
            if ephemeral and not deferred_private:
                # the public "thinking…" message cannot turn private: replace it
                await interaction.delete_original_response()
            else:
                first, *answer = answer
                await interaction.edit_original_response(
                    content=first.content,
                    embeds=first.embeds,
                    attachments=_files(files),
                    allowed_mentions=NO_PINGS,
                )
                files = []
            for page in answer:
                await interaction.followup.send(
                    content=page.content or discord.utils.MISSING,
                    embeds=page.embeds or discord.utils.MISSING,
                    files=_files(files) or discord.utils.MISSING,
                    ephemeral=ephemeral,
                    allowed_mentions=NO_PINGS,
                )
                files = []
        except CALL_ERRORS as exc:
            log.warning(
                "answering a Discord command failed: %s", delivery_error("answer", exc).reason
            )

    async def _send_direct(
        self, user: discord.User | discord.Member, attachments: list[Attachment]
    ) -> bool:
        try:
            await user.send(files=_files(attachments), allowed_mentions=NO_PINGS)
        except CALL_ERRORS as exc:
            log.warning("a Discord direct message failed: %s", delivery_error("DM", exc).reason)
            return False
        return True

    async def choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[discord.app_commands.Choice[int]]:
        """Autocomplete for conversation ids: the open queue, filtered by what was typed."""
        actor = actor_of(interaction.user)
        if not await self.allowed(actor):
            return []
        reply = await self._inbound().command(Command(actor=actor, text="queue"), {})
        typed = current.strip().lstrip("#")
        found: list[discord.app_commands.Choice[int]] = []
        for table in reply.tables:
            for row in table.rows:
                number = row[0].lstrip("#") if row else ""
                if not number.isdigit() or not number.startswith(typed):
                    continue
                name = limits.clip(limits.one_line(" · ".join((row[0], *row[-2:]))), 100)
                found.append(discord.app_commands.Choice(name=name, value=int(number)))
        return found[: limits.CHOICES]

    # -- components -------------------------------------------------------------------------

    async def on_alert_action(
        self,
        interaction: discord.Interaction[Any],
        action: AlertAction,
        conversation_id: int,
        target: str | None,
    ) -> None:
        """A button (or the hand-off picker) on an alert; the alert itself is redrawn by
        the dispatcher once the state change is recorded."""
        await _defer(interaction, ephemeral=True)
        try:
            actor = actor_of(interaction.user)
            if not await self.allowed(actor):
                text = NOT_STAFF
            else:
                person = None
                if target is not None:
                    data: dict[str, Any] = dict(interaction.data or {})
                    resolved = dict(data.get("resolved") or {})
                    person = actor_from_payload(target, resolved, interaction.guild_id)
                neutral = Action(
                    actor=actor,
                    name=action,
                    conversation_id=conversation_id,
                    value=target,
                    raw=dict(interaction.data or {}),
                    delivery_id=f"interaction:{interaction.id}",
                )
                text = await self._inbound().action(neutral, person)
        except UserError as exc:
            text = exc.reason
        except Exception:
            log.exception("Discord button failed")
            text = GENERIC_FAILURE
        await _tell(interaction, text)

    async def on_suggestion(
        self, interaction: discord.Interaction[Any], verb: SuggestionVerb, suggestion_id: int
    ) -> None:
        """Use / 👍 / 👎 on a suggested reply."""
        await _defer(interaction, ephemeral=True)
        try:
            actor = actor_of(interaction.user)
            if not await self.allowed(actor):
                text = NOT_STAFF
            else:
                text = await self._inbound().suggestion(
                    actor, verb, suggestion_id, f"interaction:{interaction.id}"
                )
        except UserError as exc:
            text = exc.reason
        except Exception:
            log.exception("Discord suggestion button failed")
            text = GENERIC_FAILURE
        await _tell(interaction, text)

    # -- thread messages --------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """A staff member's message in an alert's thread is their reply to the customer
        (the first responder is assigned); a ✅ reaction says it was recorded."""
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        thread = await _thread_of(message)
        if thread is None:
            return
        try:
            actor = actor_of(message.author)
            if not await self.allowed(actor):
                return
            told = await self._inbound().thread_message(
                actor,
                str(thread.parent_id),
                str(thread.id),
                message.clean_content,
                f"message:{message.id}",
            )
        except UserError as exc:
            await _reply(message, exc.reason)
            return
        except Exception:
            log.exception("recording a Discord thread reply failed")
            await _reply(message, GENERIC_FAILURE)
            return
        if told is not None:
            try:
                await message.add_reaction(RECORDED)
            except CALL_ERRORS as exc:
                log.warning("reacting on Discord failed: %s", delivery_error("react", exc).reason)


async def _thread_of(message: discord.Message) -> discord.Thread | None:
    """The thread ``message`` was written in; a thread missing from discord.py's cache
    (e.g. one unarchived while the bot was away) is fetched once."""
    channel = message.channel
    if isinstance(channel, discord.Thread):
        return channel
    if not isinstance(channel, discord.PartialMessageable) or message.guild is None:
        return None
    try:
        fetched = await message.guild.fetch_channel(channel.id)
    except CALL_ERRORS as exc:
        log.warning("looking up a Discord channel failed: %s", delivery_error("fetch", exc).reason)
        return None
    return fetched if isinstance(fetched, discord.Thread) else None


def _files(attachments: list[Attachment]) -> list[discord.File]:
    return [discord.File(io.BytesIO(a.data), filename=a.filename) for a in attachments]


async def _reply(message: discord.Message, text: str) -> None:
    try:
        await message.reply(
            limits.clip(text, limits.CONTENT), mention_author=False, allowed_mentions=NO_PINGS
        )
    except CALL_ERRORS as exc:
        log.warning("replying on Discord failed: %s", delivery_error("reply", exc).reason)
