"""Discord embeds for the neutral cards, built by small named functions within the limits.

An alert is one embed: the title (severity, conversation, platform) links to the original
post; the description holds an escalation note and what they said, quoted (a long post is
cut with a link to the rest); fields say who wrote it, their audience and sentiment, the
CRM context and, once it changed, the conversation's state; the footer names the rule.
Text from outside is escaped (no markdown, no pings) and clipped to Discord's limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord

from bot.chat.discord import limits
from bot.chat.discord.limits import clip, clip_escaped, escape, is_url, one_line, quote
from handlers.cards import (
    AlertCard,
    DigestCard,
    FollowUpCard,
    NoticeCard,
    StatusCard,
    SuggestionCard,
)
from handlers.ids import suggestion_ref
from handlers.influence import followers_text, tier
from handlers.platform_names import platform_name

ALERT_TEXT = 3000  # the quoted post inside the 4,096-unit description
SHORT_FIELD = 300  # author, rule: enough to read, small enough to leave room for the post
LONG_FIELD = 700  # CRM context, status
SEVERITY_EMOJI = {"low": "⚪", "normal": "🔵", "high": "🟠", "critical": "🔴"}
SEVERITY_COLOUR = {
    "low": discord.Colour.light_grey(),
    "normal": discord.Colour.blue(),
    "high": discord.Colour.orange(),
    "critical": discord.Colour.red(),
}
SENTIMENT_EMOJI = {"negative": "😞", "neutral": "😐", "positive": "😄"}
STATUS_EMOJI = {"open": "📥", "claimed": "🙋", "resolved": "✅"}
FOLLOW_UP = "follow-up"


def _field(embed: discord.Embed, name: str, value: str, inline: bool = True) -> None:
    embed.add_field(
        name=clip(name, limits.FIELD_NAME),
        value=clip(value or "-", limits.FIELD_VALUE),
        inline=inline,
    )


def _timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def alert_title(card: AlertCard) -> str:
    """``🟠 HIGH · #12 · twitter``."""
    emoji = SEVERITY_EMOJI.get(card.severity, "🔵")
    text = f"{emoji} {card.severity.upper()} · #{card.conversation_id} · {card.platform}"
    return clip(one_line(text), limits.TITLE)


def who(card: AlertCard) -> str:
    """The author as shown: ``@jroe (Jane Roe)``; the contact for CRM events."""
    if card.platform == "crm":
        return card.author_name or "unknown"
    name = f"@{card.author_handle}" if card.author_handle else "unknown"
    return f"{name} ({card.author_name})" if card.author_name else name


def sentiment_text(label: str, score: float) -> str:
    """``😞 negative (-0.62)``."""
    return f"{SENTIMENT_EMOJI.get(label, '😐')} {escape(label)} ({score:+.2f})"


def alert_description(card: AlertCard, budget: int = limits.DESCRIPTION) -> str:
    """The escalation note (loud, on top), then the post quoted; at most ``budget`` units
    (and never over 4,096)."""
    budget = min(budget, limits.DESCRIPTION)
    parts = []
    if card.escalation:
        parts.append(f"🚨 **{clip_escaped(one_line(card.escalation), 500)}**")
    url = card.url if is_url(card.url) else None
    room = budget - sum(limits.units(p) + 2 for p in parts)
    parts.append(quote(card.text or "(no text)", min(ALERT_TEXT, room), url))
    return clip("\n\n".join(parts), budget)


def status_value(card: StatusCard) -> str:
    """``🙋 **Claimed** · owner @ana · claimed by @ana 2m after alert``."""
    state = f"{STATUS_EMOJI.get(card.status, '📥')} **{escape(card.status.capitalize())}**"
    if card.assignee and card.status != "resolved":
        state += f" · owner @{escape(card.assignee)}"
    if card.line:
        state += f" · {escape(one_line(card.line))}"
    return clip(state, LONG_FIELD)


def alert_embed(card: AlertCard, status: StatusCard | None = None) -> discord.Embed:
    """The whole alert; ``status`` (when the state changed) is its last field."""
    embed = discord.Embed(
        title=alert_title(card),
        url=card.url if is_url(card.url) else None,
        colour=SEVERITY_COLOUR.get(card.severity, discord.Colour.blue()),
        timestamp=_timestamp(card.posted_at),
    )
    if card.platform == "crm":
        _field(embed, "Contact", clip_escaped(who(card), SHORT_FIELD))
        _field(embed, "From", clip_escaped(card.source, SHORT_FIELD))
    else:
        _field(embed, "Author", clip_escaped(who(card), SHORT_FIELD))
        _field(
            embed,
            "Audience",
            f"{followers_text(card.followers)} followers · influence "
            f"{card.influence:.0f} ({tier(card.influence)})",
        )
        _field(embed, "Sentiment", sentiment_text(card.sentiment_label, card.sentiment))
    if card.contact:
        _field(embed, "CRM", clip_escaped(one_line(card.contact), LONG_FIELD), inline=False)
    _field(embed, "Rule", clip_escaped(card.rule or "default route", SHORT_FIELD))
    _field(embed, "Severity", clip_escaped(card.severity, SHORT_FIELD))
    if card.why:
        _field(embed, "Why here", clip_escaped(one_line(card.why), SHORT_FIELD), inline=False)
    if status is not None:
        _field(embed, "Status", status_value(status), inline=False)
    embed.set_footer(text=clip(f"/crm claim {card.conversation_id} · {card.source}", 200))
    # the post gets what the 6,000 units of a message leave, up to 4,096
    embed.description = alert_description(card, limits.EMBED_TOTAL - limits.embed_size(embed))
    return embed


def alert_content(card: AlertCard, pings: list[str]) -> str:
    """The message text next to the embed: who to notify (escalations), else a short
    line for notifications and screen readers."""
    lead = " ".join(pings)
    line = f"{card.severity.upper()} #{card.conversation_id} from {who(card)} on {card.platform}"
    return clip(f"{lead} {escape(line)}".strip(), limits.CONTENT)


def status_embed(card: StatusCard) -> discord.Embed:
    """A state change shown on its own (when the alert itself is not known)."""
    embed = discord.Embed(title=f"#{card.conversation_id}", description=status_value(card))
    return embed


def thread_name(card: AlertCard) -> str:
    """The alert's thread: ``#12 @jroe: your app is down``, at most 100 characters."""
    return clip(
        one_line(f"#{card.conversation_id} {who(card)}: {card.title or card.text}") or "alert",
        limits.THREAD_NAME,
    )


def followup_embed(card: FollowUpCard) -> discord.Embed:
    """A further message in the conversation's thread."""
    name = f"@{card.author_handle}" if card.author_handle else "CRM"
    lead = f"{SENTIMENT_EMOJI.get(card.sentiment_label, '😐')} {name}"
    if card.reopened:
        lead = f"🔄 Reopened by a new message · {lead}"
    url = card.url if is_url(card.url) else None
    return discord.Embed(
        title=clip(one_line(lead), limits.TITLE),
        url=url,
        description=quote(card.text or "(no text)", ALERT_TEXT, url),
    )


def notice_content(card: NoticeCard) -> str:
    """A plain notice (admin messages): escaped, at most 2,000 characters."""
    return clip_escaped(card.text or "notice", limits.CONTENT)


def _digest_line(item: dict[str, Any]) -> str:
    severity = str(item.get("severity", "normal"))
    emoji = "💬" if severity == FOLLOW_UP else SEVERITY_EMOJI.get(severity, "🔵")
    title = escape(clip(one_line(str(item.get("title") or "")), 300))
    url = item.get("url")
    if isinstance(url, str) and is_url(url):
        title += f" · [view]({url})"
    who_ = escape(clip(str(item.get("who") or ""), 100))
    return f"{emoji} **#{item.get('conversation_id')}** {who_}: {title}"


def digest_embed(card: DigestCard) -> discord.Embed:
    """Several alerts (or follow-ups) in one embed: the first few listed, all counted."""
    reason = clip_escaped(one_line(card.reason), 500)
    followups = bool(card.items) and all(i.get("severity") == FOLLOW_UP for i in card.items)
    title = f"💬 {card.total} follow-ups" if followups else f"📦 {card.total} alerts"
    lines = [reason, ""]
    used = sum(limits.units(line) + 1 for line in lines)
    shown = 0
    for item in card.items:
        line = _digest_line(item)
        if used + limits.units(line) + 1 > limits.DESCRIPTION - 200:
            break
        lines.append(line)
        used += limits.units(line) + 1
        shown += 1
    rest = card.total - shown
    notes = [f"… and {rest} more: `/crm queue`"] if rest > 0 else []
    counts = ", ".join(f"{n} {sev}" for sev, n in sorted((card.counts or {}).items()))
    if counts:
        notes.append(escape(counts))
    if notes:
        lines += ["", clip(" · ".join(notes), 190)]
    return discord.Embed(title=title, description=clip("\n".join(lines), limits.DESCRIPTION))


def digest_claimable(card: DigestCard) -> list[int]:
    """The digest's new alerts that get a Claim button (at most two rows of five)."""
    ids = [
        int(item["conversation_id"])
        for item in card.items
        if item.get("severity") != FOLLOW_UP and isinstance(item.get("conversation_id"), int)
    ]
    return ids[: 2 * limits.BUTTONS_PER_ROW]


def suggestion_embed(card: SuggestionCard) -> discord.Embed:
    """A suggested reply in the alert's thread: the text, who drafted it, how sure."""
    sid = suggestion_ref(card.suggestion_id)
    embed = discord.Embed(
        title=clip(
            f"📝 Suggested reply {sid} · {card.tone} · confidence {card.confidence:.0%}",
            limits.TITLE,
        ),
        description=quote(card.text or "(empty)", ALERT_TEXT),
        colour=discord.Colour.teal(),
    )
    if card.needs_human:
        reason = escape(one_line(card.reason or "see the conversation"))
        _field(embed, "⚠️ A person should handle this", reason, inline=False)
    notes = [one_line(card.label)] if card.label else []
    if card.limit:
        notes.append(f"{len(card.text)}/{card.limit} characters on {platform_name(card.platform)}")
    if card.reply_mode == "direct":
        notes.append(f"Send publishes it on {platform_name(card.platform)} as your reply")
    elif card.reply_mode == "approve":
        notes.append("Send for approval: an approver publishes it")
    else:
        notes.append(f"/crm use {sid} records a reply you made elsewhere")
    notes.append(f"/crm vote {sid} up|down · /crm suggest {card.conversation_id}")
    embed.set_footer(text=clip(" · ".join(notes), limits.FOOTER))
    return embed
