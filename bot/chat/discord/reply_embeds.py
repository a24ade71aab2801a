"""A reply to the customer as its thread shows it, one embed per step.

``awaiting``: the draft quoted, who wrote it and who may approve it (the Approve / Edit /
Reject buttons are in components.py); ``queued``: publishing; ``published``: the public
link; ``rejected`` and ``failed``: the reason in words. Text is escaped and clipped to
Discord's limits.
"""

from __future__ import annotations

import discord

from bot.chat.discord import limits
from bot.chat.discord.limits import clip, clip_escaped, is_url, one_line, quote
from handlers.cards import ReplyCard
from handlers.platform_names import platform_name

REPLY_TEXT = 3000
NAME = 300
REASON = 900

STATES: dict[str, tuple[str, discord.Colour]] = {
    "awaiting": ("✋ Draft reply {ref} waiting for approval", discord.Colour.gold()),
    "queued": ("⏳ Publishing reply {ref} on {platform}…", discord.Colour.blurple()),
    "published": ("✅ Published on {platform}", discord.Colour.green()),
    "rejected": ("🚫 Draft reply {ref} rejected", discord.Colour.dark_grey()),
    "failed": ("⚠️ Reply {ref} not published on {platform}", discord.Colour.red()),
}


def reply_ref(card: ReplyCard) -> str:
    """``r12``."""
    return f"r{card.reply_id}"


def reply_title(card: ReplyCard) -> str:
    """The step in a few words: ``✅ Published on mastodon``."""
    template, _ = STATES.get(card.state, ("Reply {ref}: {state}", discord.Colour.default()))
    text = template.format(
        ref=reply_ref(card), platform=platform_name(card.platform), state=card.state
    )
    return clip(one_line(text), limits.TITLE)


def _field(embed: discord.Embed, name: str, value: str, inline: bool = True) -> None:
    embed.add_field(name=name, value=clip(value or "-", limits.FIELD_VALUE), inline=inline)


def _reason(card: ReplyCard) -> str:
    if card.error:
        return clip_escaped(one_line(card.error), REASON)
    return "The platform gave no reason; see the bot's log."


def reply_embed(card: ReplyCard) -> discord.Embed:
    """The reply at its current step."""
    _, colour = STATES.get(card.state, ("", discord.Colour.default()))
    url = card.url if card.state == "published" and is_url(card.url) else None
    embed = discord.Embed(
        title=reply_title(card),
        url=url,
        description=quote(card.text or "(empty)", REPLY_TEXT),
        colour=colour,
    )
    _field(embed, "Written by", clip_escaped(card.author or "unknown", NAME))
    if card.state == "awaiting":
        _field(embed, "May approve", clip_escaped(card.approvers or "an approver", NAME))
    if card.approver:
        verb = "Rejected by" if card.state == "rejected" else "Approved by"
        _field(embed, verb, clip_escaped(card.approver, NAME))
    if url is not None:
        _field(embed, "Link", url, inline=False)
    elif card.state == "published":
        _field(embed, "Link", "The platform gave no public link.", inline=False)
    if card.error or card.state == "failed":
        _field(embed, "Why", _reason(card), inline=False)
    embed.set_footer(text=clip(_footer(card), limits.FOOTER))
    return embed


def _footer(card: ReplyCard) -> str:
    if card.state == "awaiting":
        return f"{reply_ref(card)} · the author cannot approve their own draft"
    if card.state == "queued":
        return f"{reply_ref(card)} · the thread says when it is live"
    return f"{reply_ref(card)} · #{card.conversation_id}"
