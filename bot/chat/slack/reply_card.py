"""Block Kit layout of a reply to the customer, one message per step in the alert's thread.

``awaiting``: the draft quoted, who wrote it, who may approve, and Approve / Edit / Reject
(everyone sees them; the bot checks who may press). ``queued``: "Publishing…".
``published``: the public link. ``rejected`` / ``failed``: the reason in words.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.chat.slack.blocks import ALERT_TEXT_LIMIT, TEXT_LIMIT
from bot.chat.slack.mrkdwn import clip, escape, link, one_line, quote
from handlers.cards import ReplyCard
from handlers.platform_names import platform_name

REPLY_PREFIX = "rep_"  # apart from the alert and suggestion buttons: slack/review.py
REPLY_APPROVE = "rep_approve"
REPLY_EDIT = "rep_edit"
REPLY_REJECT = "rep_reject"
REASON_LIMIT = 1000


def reply_ref(reply_id: int) -> str:
    """``r<id>``: how a drafted reply is named on its buttons and in messages."""
    return f"r{reply_id}"


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _who(card: ReplyCard) -> str:
    who = f"by @{clip(card.author, 100)}" if card.author else ""
    if card.approver:
        who += f", approved by @{clip(card.approver, 100)}"
    return who


def _headline(card: ReplyCard) -> str:
    ref = reply_ref(card.reply_id)
    where = escape(platform_name(card.platform))
    who = _who(card)
    if card.state == "awaiting":
        approvers = clip(card.approvers or "an approver", 300)
        return f":memo: *Draft reply {ref}* {who} · waiting for approval by {approvers}"
    if card.state == "queued":
        return f":hourglass_flowing_sand: *Reply {ref}* {who} · Publishing on {where}…"
    if card.state == "published":
        target = link(card.url, card.url, 1500) if card.url else "(no link given)"
        return f":white_check_mark: *Published on {where}:* {target} · reply {ref} {who}"
    reason = clip(one_line(card.error or "no reason given"), REASON_LIMIT)
    if card.state == "rejected":
        by = f" by @{clip(card.approver, 100)}" if card.approver else ""
        author = f" · written by @{clip(card.author, 100)}" if card.author else ""
        return f":no_entry_sign: *Draft {ref} rejected{by}:* {reason}{author}"
    if card.state == "failed":
        return f":x: *Reply {ref} could not be published on {where}:* {reason}"
    return f"*Reply {ref}* · {escape(card.state)} {who}"


def review_buttons(card: ReplyCard) -> ActionsBlock:
    """Approve / Edit / Reject on a draft; the value names the draft (``r12``)."""
    value = reply_ref(card.reply_id)
    reject_confirm = ConfirmObject(
        title="Reject this draft?",
        text="It will not be published; the author is told in the thread.",
        confirm="Reject",
        deny="Keep it",
        style="danger",
    )
    return ActionsBlock(
        block_id=f"rep:{card.reply_id}",
        elements=[
            ButtonElement(
                text=PlainTextObject(text="Approve"),
                action_id=REPLY_APPROVE,
                value=value,
                style="primary",
            ),
            ButtonElement(text=PlainTextObject(text="Edit"), action_id=REPLY_EDIT, value=value),
            ButtonElement(
                text=PlainTextObject(text="Reject"),
                action_id=REPLY_REJECT,
                value=value,
                style="danger",
                confirm=reject_confirm,
            ),
        ],
    )


def reply_card_blocks(card: ReplyCard) -> list[Block]:
    """The step of a reply: what happened, the text as quoted, and buttons on a draft."""
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(_headline(card)))]
    if card.text and card.state != "published":
        blocks.append(SectionBlock(text=_mrkdwn(quote(card.text, ALERT_TEXT_LIMIT))))
    if card.state == "awaiting":
        blocks.append(review_buttons(card))
    return blocks


def reply_card_text(card: ReplyCard) -> str:
    """The notification text of a reply's step."""
    ref = reply_ref(card.reply_id)
    where = platform_name(card.platform)
    lines = {
        "awaiting": f"draft reply {ref} by @{card.author} waits for approval",
        "queued": f"reply {ref} publishing on {where}",
        "published": f"reply {ref} published on {where}: {card.url or ''}",
        "rejected": f"draft {ref} rejected: {card.error or ''}",
        "failed": f"reply {ref} failed on {where}: {card.error or ''}",
    }
    line = lines.get(card.state, f"reply {ref}: {card.state}")
    return clip(f"#{card.conversation_id} {one_line(line)}", TEXT_LIMIT)
