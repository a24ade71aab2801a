"""Block Kit layouts for the neutral cards, built by small named functions.

An alert is: a header (severity, conversation, platform), who wrote it (handle, followers,
influence, sentiment), what they said (quoted, clipped to fit), the link and CRM context,
the rule that raised it, the current state once it changes, and the buttons to work it.
Every text from outside is escaped and clipped to Block Kit's limits.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
    UserSelectElement,
)

from bot.chat.slack.mrkdwn import clip, clip_plain, escape, link, one_line, quote
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

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
CONTEXT_LIMIT = 2000
HEADER_LIMIT = 150
TEXT_LIMIT = 3000  # the notification text that goes with the blocks
ALERT_TEXT_LIMIT = 2800  # the quoted mention, leaving room in its section

ACTION_PREFIX = "crm_"
CLAIM = "crm_claim"
REPLIED = "crm_replied"
RESOLVE = "crm_resolve"
HANDOFF = "crm_handoff"
REOPEN = "crm_reopen"
LEAD = "crm_lead"

SEVERITY_EMOJI = {
    "low": ":white_circle:",
    "normal": ":large_blue_circle:",
    "high": ":large_orange_circle:",
    "critical": ":red_circle:",
}
SENTIMENT_EMOJI = {"negative": ":disappointed:", "neutral": ":neutral_face:", "positive": ":smile:"}
STATUS_EMOJI = {
    "open": ":inbox_tray:",
    "claimed": ":raising_hand:",
    "resolved": ":white_check_mark:",
}


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(text) for text in texts])


def block_id(conversation_id: int | None) -> str:
    """The id of an alert's actions block; the conversation travels in it and in each value."""
    return f"crm:{conversation_id}"


def header_block(card: AlertCard) -> HeaderBlock:
    """Severity, conversation number and where it came from."""
    emoji = SEVERITY_EMOJI.get(card.severity, ":large_blue_circle:")
    text = f"{emoji} {card.severity.upper()} · #{card.conversation_id} · {card.platform}"
    return HeaderBlock(text=PlainTextObject(text=clip_plain(text, HEADER_LIMIT), emoji=True))


def escalation_block(card: AlertCard, pings: str = "") -> SectionBlock | None:
    """Why an alert is posted again (unclaimed past its time), loud, on top, with the
    people and groups to notify (``pings``: already Slack mention syntax)."""
    if not card.escalation:
        return None
    line = f":rotating_light: *{clip(one_line(card.escalation), 500)}*"
    return SectionBlock(text=_mrkdwn(f"{line} {pings}".rstrip()))


def author_block(card: AlertCard) -> SectionBlock:
    """Who wrote it and how loud they are; for CRM events, the contact and the CRM."""
    if card.platform == "crm":
        fields = [
            f"*Contact*\n{clip(card.author_name or 'unknown', 200)}",
            f"*From*\n{clip(card.source, 200)}",
        ]
    else:
        who = f"@{card.author_handle}" if card.author_handle else "unknown"
        if card.author_name:
            who += f" ({card.author_name})"
        fields = [
            f"*Author*\n{clip(who, 300)}",
            f"*Audience*\n{followers_text(card.followers)} followers · influence "
            f"{card.influence:.0f} ({tier(card.influence)})",
            f"*Sentiment*\n{sentiment_text(card.sentiment_label, card.sentiment, card.sentiment_by)}",
        ]
    return SectionBlock(fields=[_mrkdwn(text) for text in fields])


def sentiment_text(label: str, score: float, by: str = "offline") -> str:
    """``:disappointed: negative (-0.62)``; ``· by gpt-4o-mini`` when a model decided."""
    text = f"{SENTIMENT_EMOJI.get(label, ':neutral_face:')} {escape(label)} ({score:+.2f})"
    return text if by == "offline" else f"{text} · by {escape(clip(by, 60))}"


def text_block(card: AlertCard) -> SectionBlock:
    """What they said, quoted; long posts are cut with an ellipsis."""
    return SectionBlock(text=_mrkdwn(quote(card.text or "(no text)", ALERT_TEXT_LIMIT)))


def link_block(card: AlertCard) -> ContextBlock | None:
    """The original post, when it has a URL."""
    if not card.url:
        return None
    return _context(f":link: {link(card.url, f'View on {card.platform}', CONTEXT_LIMIT - 10)}")


def crm_block(card: AlertCard) -> ContextBlock | None:
    """What the CRM knows about the author (contact, company, deal)."""
    if not card.contact:
        return None
    return _context(f":card_index: *CRM:* {clip(one_line(card.contact), CONTEXT_LIMIT - 20)}")


def rule_block(card: AlertCard) -> ContextBlock:
    """Which rule raised the alert, and the command to claim it by hand."""
    rule = clip(card.rule or "default route", 200)
    text = (
        f"rule: *{rule}* · severity {escape(card.severity)} · `/crm claim {card.conversation_id}`"
    )
    if card.why:
        text += f"\nwhy here: {clip(card.why, 600)}"
    return _context(text)


def status_block(card: StatusCard) -> ContextBlock:
    """The alert's current state: ``:raising_hand: *Claimed* · owner @ana · replied by @ana``."""
    emoji = STATUS_EMOJI.get(card.status, ":inbox_tray:")
    state = f"{emoji} *{escape(card.status.capitalize())}*"
    if card.assignee and card.status != "resolved":
        state += f" · owner @{escape(card.assignee)}"
    if card.line:
        state += f" · {clip(one_line(card.line), CONTEXT_LIMIT - 200)}"
    return _context(state)


def _button(
    text: str, action_id: str, conversation_id: int | None, style: str | None = None
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text),
        action_id=action_id,
        value=str(conversation_id),
        style=style,
    )


def action_block(
    conversation_id: int | None, status: str = "open", lead: bool = False
) -> ActionsBlock:
    """The buttons for the conversation's state: work it while open, reopen once resolved;
    ``lead`` adds Create lead (social alerts: the author becomes a CRM contact)."""
    elements: list[InteractiveElement] = []
    if status == "resolved":
        elements.append(_button("Reopen", REOPEN, conversation_id))
    else:
        if status == "open":
            elements.append(_button("Claim", CLAIM, conversation_id, "primary"))
        elements.append(_button("Mark replied", REPLIED, conversation_id))
        elements.append(_button("Resolve", RESOLVE, conversation_id))
        elements.append(
            UserSelectElement(placeholder=PlainTextObject(text="Hand off to…"), action_id=HANDOFF)
        )
    if lead:
        elements.append(_button("Create lead", LEAD, conversation_id))
    return ActionsBlock(block_id=block_id(conversation_id), elements=elements)


def alert_blocks(card: AlertCard, status: StatusCard | None = None, pings: str = "") -> list[Block]:
    """The whole alert message; ``status`` (when the state changed) goes above the buttons."""
    blocks: list[Block | None] = [
        header_block(card),
        escalation_block(card, pings),
        author_block(card),
        text_block(card),
        link_block(card),
        crm_block(card),
        rule_block(card),
        status_block(status) if status is not None else None,
        action_block(
            card.conversation_id,
            status.status if status is not None else "open",
            lead=card.lead,
        ),
    ]
    return [block for block in blocks if block is not None]


def alert_text(card: AlertCard) -> str:
    """The notification text of an alert (what a phone or a screen reader shows)."""
    who = f"@{card.author_handle}" if card.author_handle else (card.author_name or card.source)
    text = (
        f"{card.severity.upper()} #{card.conversation_id} from {who} on {card.platform}: "
        f"{one_line(card.title or card.text)}"
    )
    return clip(text, TEXT_LIMIT)


def status_blocks(card: StatusCard) -> list[Block]:
    """A state change shown on its own (when the alert itself cannot be found)."""
    return [
        SectionBlock(text=_mrkdwn(f"*#{card.conversation_id}*")),
        status_block(card),
        action_block(card.conversation_id, card.status),
    ]


def status_text(card: StatusCard) -> str:
    """The notification text of a state change."""
    return clip(f"#{card.conversation_id} {card.status}: {one_line(card.line)}", TEXT_LIMIT)


def followup_blocks(card: FollowUpCard) -> list[Block]:
    """A further message in the conversation's thread."""
    who = f"@{card.author_handle}" if card.author_handle else "CRM"
    lead = f"{SENTIMENT_EMOJI.get(card.sentiment_label, ':neutral_face:')} *{clip(who, 200)}*"
    if card.reopened:
        lead = f":arrows_counterclockwise: *Reopened* by a new message · {lead}"
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(f"{lead}\n{quote(card.text or '(no text)', ALERT_TEXT_LIMIT)}"))
    ]
    if card.url:
        blocks.append(_context(f":link: {link(card.url, 'View post', CONTEXT_LIMIT - 10)}"))
    return blocks


def followup_text(card: FollowUpCard) -> str:
    """The notification text of a follow-up."""
    who = f"@{card.author_handle}" if card.author_handle else "CRM"
    prefix = "reopened: " if card.reopened else ""
    return clip(f"#{card.conversation_id} {prefix}{who}: {one_line(card.text)}", TEXT_LIMIT)


def notice_blocks(card: NoticeCard) -> list[Block]:
    """A plain notice (digests, admin messages)."""
    return [SectionBlock(text=_mrkdwn(clip(card.text or " ", SECTION_LIMIT)))]


def notice_text(card: NoticeCard) -> str:
    """The notification text of a notice."""
    return clip(one_line(card.text) or "notice", TEXT_LIMIT)


FOLLOW_UP = "follow-up"


def digest_item_block(item: dict[str, Any]) -> SectionBlock:
    """One item of a digest: severity, number, who, what; a new alert gets a Claim button."""
    conversation_id = item.get("conversation_id")
    severity = str(item.get("severity", "normal"))
    title = clip(one_line(str(item.get("title") or "")), 400)
    url = item.get("url")
    if isinstance(url, str) and url:
        title += f" · {link(url, 'view', 1000)}"
    emoji = ":speech_balloon:" if severity == FOLLOW_UP else SEVERITY_EMOJI.get(severity, "")
    text = (
        f"{emoji or ':large_blue_circle:'} *#{conversation_id}* "
        f"{clip(str(item.get('who') or ''), 200)}: {title}"
    )
    claim = _button("Claim", CLAIM, conversation_id) if severity != FOLLOW_UP else None
    return SectionBlock(text=_mrkdwn(clip_plain(text, SECTION_LIMIT)), accessory=claim)


def digest_blocks(card: DigestCard) -> list[Block]:
    """Several alerts (or follow-ups) in one message: the first few listed, all counted."""
    reason = clip(one_line(card.reason), 500)
    followups = bool(card.items) and all(i.get("severity") == FOLLOW_UP for i in card.items)
    lead = (
        f":speech_balloon: {reason}" if followups else f"*:package: {card.total} alerts* · {reason}"
    )
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(lead))]
    blocks.extend(digest_item_block(item) for item in card.items[: MAX_BLOCKS - 3])
    notes = []
    rest = card.total - len(card.items)
    if rest > 0:
        notes.append(f"… and {rest} more: `/crm queue`")
    counts = ", ".join(f"{n} {escape(sev)}" for sev, n in sorted((card.counts or {}).items()))
    if counts:
        notes.append(counts)
    if notes:
        blocks.append(_context(" · ".join(notes)))
    return blocks


def digest_text(card: DigestCard) -> str:
    """The notification text of a digest."""
    return clip(f"{card.total} alerts ({one_line(card.reason)})", TEXT_LIMIT)


SUGGESTION_PREFIX = "sug_"  # apart from ACTION_PREFIX: its own listener (slack/suggestions.py)
SUGGESTION_USE = "sug_use"  # "Mark replied": a reply was made elsewhere (id kept for old cards)
SUGGESTION_UP = "sug_up"
SUGGESTION_DOWN = "sug_down"
SUGGESTION_SEND = "sug_send"
SUGGESTION_EDIT = "sug_edit"
SENDING_MODES = ("direct", "approve")


def suggestion_block_id(suggestion_id: int, conversation_id: int | None) -> str:
    """``sug:<suggestion>:<conversation>``: Send needs the conversation the card is about
    (cards posted before Send existed carry only ``sug:<suggestion>``)."""
    return f"sug:{suggestion_id}:{conversation_id}"


def _suggestion_button(
    text: str,
    action_id: str,
    suggestion_id: int,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True),
        action_id=action_id,
        value=suggestion_ref(suggestion_id),
        style=style,
        confirm=confirm,
    )


def send_confirm(card: SuggestionCard) -> ConfirmObject:
    """The dialog before Send: where the reply goes, or that it goes to an approver first."""
    where = clip_plain(platform_name(card.platform), 40)
    if card.reply_mode == "approve":
        text = f"Send this reply for approval? Once approved it is published on {where}."
        return ConfirmObject(title="Send for approval?", text=text, confirm="Send", deny="Cancel")
    text = f"Publish this reply on {where} as the brand's account? Everyone can read it."
    return ConfirmObject(title="Publish this reply?", text=text, confirm="Publish", deny="Cancel")


def suggestion_buttons(card: SuggestionCard) -> list[InteractiveElement]:
    """Send / Edit & send / 👍 / 👎 where staff may answer from chat (``reply_mode`` direct
    or approve); Mark replied / 👍 / 👎 where they answer on the platform itself."""
    sid = card.suggestion_id
    votes: list[InteractiveElement] = [
        _suggestion_button(":+1:", SUGGESTION_UP, sid),
        _suggestion_button(":-1:", SUGGESTION_DOWN, sid),
    ]
    if card.reply_mode not in SENDING_MODES:
        return [_suggestion_button("Mark replied", SUGGESTION_USE, sid), *votes]
    label = "Send for approval" if card.reply_mode == "approve" else "Send"
    return [
        _suggestion_button(label, SUGGESTION_SEND, sid, "primary", send_confirm(card)),
        _suggestion_button("Edit & send", SUGGESTION_EDIT, sid),
        *votes,
    ]


def suggestion_blocks(card: SuggestionCard) -> list[Block]:
    """A suggested reply in the alert's thread: the text, who drafted it, and its buttons."""
    sid = suggestion_ref(card.suggestion_id)
    lead = (
        f":memo: *Suggested reply {sid}* · {escape(card.tone)} · confidence {card.confidence:.0%}"
    )
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(f"{lead}\n{quote(card.text or '(empty)', ALERT_TEXT_LIMIT)}"))
    ]
    if card.needs_human:
        reason = clip(one_line(card.reason or "see the conversation"), 500)
        blocks.append(_context(f":warning: *A person should handle this:* {reason}"))
    notes = [clip(one_line(card.label), 300)] if card.label else []
    if card.limit:
        notes.append(f"{len(card.text)}/{card.limit} characters on {escape(card.platform)}")
    notes.append(
        f"`/crm use {sid}` · `/crm vote {sid} up|down` · `/crm suggest {card.conversation_id}`"
    )
    blocks.append(_context(" · ".join(notes)))
    blocks.append(
        ActionsBlock(
            block_id=suggestion_block_id(card.suggestion_id, card.conversation_id),
            elements=suggestion_buttons(card),
        )
    )
    return blocks


def suggestion_text(card: SuggestionCard) -> str:
    """The notification text of a suggestion."""
    sid = suggestion_ref(card.suggestion_id)
    return clip(f"#{card.conversation_id} suggested reply {sid}: {one_line(card.text)}", TEXT_LIMIT)
