"""Answering a Discord interaction: defer it within the 3 seconds, then tell the person
privately. A failed answer is logged (with a reason, never a token) and not retried."""

from __future__ import annotations

import io
import logging
from typing import Any

import discord

from bot.chat.discord import limits
from bot.chat.discord.errors import CALL_ERRORS, delivery_error

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
KEPT_FILE = "your-reply.txt"


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
    """Acknowledge at once ("thinking…"); the answer follows as a follow-up."""
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except CALL_ERRORS as exc:
        log.warning(
            "deferring a Discord interaction failed: %s", delivery_error("defer", exc).reason
        )


async def tell(interaction: discord.Interaction[Any], text: str, *, first: bool = False) -> None:
    """A private answer: a follow-up to a deferred interaction, or (``first``) the first
    response itself when nothing was deferred."""
    text = limits.clip(text, limits.CONTENT)
    try:
        if first:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except CALL_ERRORS as exc:
        log.warning("answering a Discord button failed: %s", delivery_error("answer", exc).reason)


def kept_text(text: str) -> tuple[discord.Embed | None, discord.File | None]:
    """The person's own text handed back so it is not lost (a modal cannot show an error
    next to its field): in a code block to copy, or as a file when it does not fit."""
    body = text.replace("```", "`\u200b``")  # a fence inside would end the block early
    block = f"```\n{body}\n```"
    if limits.units(block) <= limits.DESCRIPTION:
        return discord.Embed(title="Your text (not sent)", description=block), None
    return None, discord.File(io.BytesIO(text.encode()), filename=KEPT_FILE)


async def tell_keeping(interaction: discord.Interaction[Any], reason: str, text: str) -> None:
    """A private follow-up saying why ``text`` was not taken, with the text itself."""
    embed, file = kept_text(text)
    try:
        await interaction.followup.send(
            limits.clip(reason, limits.CONTENT),
            embed=embed or discord.utils.MISSING,
            file=file or discord.utils.MISSING,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
    except CALL_ERRORS as exc:
        log.warning("answering a Discord modal failed: %s", delivery_error("answer", exc).reason)
