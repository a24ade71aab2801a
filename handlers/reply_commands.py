"""``/crm send``, ``/crm approve``, ``/crm reject`` and ``/crm drafts``: answering the
customer from chat by command (handlers/publishing.py has the rules)."""

from __future__ import annotations

from handlers import publishing
from handlers.context import BotContext
from handlers.errors import UserError
from handlers.events import Command
from handlers.ids import Kind, expect
from handlers.replies import Reply

SEND_USAGE = "send <conversation> <text>"
APPROVE_USAGE = "approve <reply-id> [edited text]"
REJECT_USAGE = "reject <reply-id>"


def text_after(text: str, words: int) -> str:
    """What was typed after the first ``words`` words (after ``/crm``), exactly as typed:
    a reply keeps its quotes and apostrophes, which command word splitting would eat."""
    rest = text.strip()
    if rest.lower().startswith("/crm"):
        rest = rest[4:]
    parts = rest.split(None, words)
    return parts[words] if len(parts) > words else ""


def send(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    """``/crm send 12 Thanks, fixed now!``."""
    if not args:
        raise UserError(f"Which conversation? Usage: `/crm {SEND_USAGE}`")
    conversation_id = expect(args[0], Kind.CONVERSATION, SEND_USAGE)
    text = text_after(cmd.text, 2)
    if not text:
        raise UserError(f"What should the customer read? Usage: `/crm {SEND_USAGE}`")
    return Reply(publishing.send(ctx, cmd.actor, conversation_id, text), ephemeral=True)


def approve(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    """``/crm approve r12`` or ``/crm approve r12 <edited text>``."""
    if not args:
        raise UserError(f"Which draft? Usage: `/crm {APPROVE_USAGE}` (`/crm drafts` lists them)")
    reply_id = expect(args[0], Kind.REPLY, APPROVE_USAGE)
    edited = text_after(cmd.text, 2) or None
    return Reply(publishing.review(ctx, cmd.actor, reply_id, "approve", edited), ephemeral=True)


def reject(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    """``/crm reject r12``."""
    if len(args) != 1:
        raise UserError(f"Usage: `/crm {REJECT_USAGE}`")
    reply_id = expect(args[0], Kind.REPLY, REJECT_USAGE)
    return Reply(publishing.review(ctx, cmd.actor, reply_id, "reject"), ephemeral=True)


def drafts(ctx: BotContext, cmd: Command, args: list[str]) -> Reply:
    """``/crm drafts``: the drafts waiting for the asker's approval."""
    return publishing.drafts(ctx, cmd.actor)
