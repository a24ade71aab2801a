"""Staff actions on a conversation: claim, reply, resolve, hand off, reopen.

Each action is one transaction: it locks the conversation's row (``SELECT ... FOR UPDATE``
on PostgreSQL; SQLite has one writer at a time, and this process queues its transactions
on a lock), checks its state as it is once locked, records a handling event (who, what,
when) and the delivery's key (handlers/once.py), updates the conversation, and queues an
in-place update of the alert in every channel it was posted to. So of two people pressing
Claim at the same moment one wins and the other is told who has it. Only staff act
(handlers/roles.py). Problems the user can fix raise UserError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from handlers import once, roles
from handlers.cards import StatusCard
from handlers.cleantext import clean
from handlers.context import BotContext
from handlers.durations import format_duration
from handlers.errors import UserError
from handlers.events import Actor, ThreadReply
from handlers.suggest.knowledge import remember_reply
from storage import conversations, handling
from storage import staff as staff_store
from storage.models import Conversation, Staff


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What the action did, in words for the person who did it."""

    conversation_id: int
    message: str


def identify(session: Session, ctx: BotContext, actor: Actor) -> Staff:
    """The staff record of the person acting; NotStaff (a polite UserError) for strangers."""
    return roles.identify(session, ctx.config, actor, ctx.clock.now())


def staff_named(session: Session, ctx: BotContext, actor: Actor) -> Staff | None:
    """The staff record of someone named in a command or picked in a menu (None: not staff).
    Naming people never makes them staff."""
    return roles.staff_of(session, ctx.config, actor, ctx.clock.now())


def no_conversation(conversation_id: int) -> UserError:
    return UserError(f"There is no conversation #{conversation_id}. Try `/crm queue`.")


@contextmanager
def acting(
    ctx: BotContext, actor: Actor, conversation_id: int
) -> Iterator[tuple[Session, Staff, Conversation]]:
    """One staff action's transaction: who acts, the conversation locked, the delivery's
    key recorded; the dispatcher is woken after the commit."""
    with ctx.db.session() as session:
        staff = identify(session, ctx, actor)
        if not conversations.valid_id(conversation_id):
            raise no_conversation(conversation_id)
        conversation = conversations.lock(session, conversation_id)
        if conversation is None:
            raise no_conversation(conversation_id)
        once.record(session, ctx.clock.now())  # a redelivered press stops here
        yield session, staff, conversation
    ctx.on_queued()  # after the commit, so the dispatcher sees the status update


def _mention(staff: Staff | None) -> str:
    return f"@{staff.name}" if staff is not None else "nobody"


def _announce(ctx: BotContext, session: Session, conversation: Conversation, line: str) -> None:
    assignee = session.get(Staff, conversation.assignee_id) if conversation.assignee_id else None
    card = StatusCard(
        conversation_id=conversation.id,
        status=conversation.status,
        line=line,
        assignee=assignee.name if assignee else None,
    )
    ctx.queue(session, card, list(conversation.channels))


def require_open(conversation: Conversation) -> None:
    if conversation.status == "resolved":
        raise UserError(
            f"#{conversation.id} is resolved. Use `/crm reopen {conversation.id}` to work on it again."
        )


def claim(ctx: BotContext, actor: Actor, conversation_id: int) -> ActionResult:
    """Take ownership of an open, unclaimed conversation."""
    with acting(ctx, actor, conversation_id) as (session, staff, conversation):
        require_open(conversation)
        if conversation.assignee_id == staff.id:
            return ActionResult(conversation_id, f"You already have #{conversation_id}.")
        if conversation.assignee_id is not None:
            owner = session.get(Staff, conversation.assignee_id)
            raise UserError(
                f"#{conversation_id} is already claimed by {_mention(owner)}. "
                f"Ask them to `/crm handoff {conversation_id} @{staff.name}`."
            )
        now = ctx.clock.now()
        cycle = handling.current_cycle(session, conversation)
        handling.record(session, conversation, "claimed", staff.id, now)
        conversation.assignee_id = staff.id
        conversation.status = "claimed"
        since = format_duration((now - (cycle.alerted_at or cycle.received_at)).total_seconds())
        _announce(ctx, session, conversation, f"claimed by @{staff.name} {since} after alert")
    ctx.on_claimed(conversation_id)
    return ActionResult(conversation_id, f"You claimed #{conversation_id}.")


def reply(ctx: BotContext, actor: Actor, conversation_id: int, text: str | None) -> ActionResult:
    """Record that the staff member answered the author (``text`` is what they sent, if known).

    An unclaimed conversation is assigned to whoever answers first.
    """
    text = clean(text) if text else text
    with acting(ctx, actor, conversation_id) as (session, staff, conversation):
        require_open(conversation)
        detail = {"text": text} if text else {}
        auto_claimed = record_reply(ctx, session, staff, conversation, text, detail, "")
    if auto_claimed:
        ctx.on_claimed(conversation_id)
    suffix = " and assigned it to you" if auto_claimed else ""
    return ActionResult(conversation_id, f"Recorded your reply on #{conversation_id}{suffix}.")


def record_reply(
    ctx: BotContext,
    session: Session,
    staff: Staff,
    conversation: Conversation,
    text: str | None,
    detail: dict[str, Any],
    where: str,
) -> bool:
    """Inside the caller's transaction: record ``staff``'s reply to the customer (the
    ``replied`` event that first response time measures), remember its text, announce it
    (``where``: " on Mastodon" or ""). Returns whether the conversation was unclaimed and
    is now assigned to them."""
    now = ctx.clock.now()
    auto_claimed = conversation.assignee_id is None
    if auto_claimed:
        handling.record(session, conversation, "claimed", staff.id, now, {"auto": True})
        conversation.assignee_id = staff.id
        conversation.status = "claimed"
    handling.record(session, conversation, "replied", staff.id, now, detail)
    if text:
        remember_reply(session, conversation, staff.id, text, now)  # into the knowledge base
    _announce(ctx, session, conversation, f"replied by @{staff.name}{where}")
    return auto_claimed


def resolve(ctx: BotContext, actor: Actor, conversation_id: int) -> ActionResult:
    """Close the conversation's current cycle."""
    with acting(ctx, actor, conversation_id) as (session, staff, conversation):
        if conversation.status == "resolved":
            return ActionResult(conversation_id, f"#{conversation_id} is already resolved.")
        now = ctx.clock.now()
        handling.record(session, conversation, "resolved", staff.id, now)
        conversation.status = "resolved"
        conversation.resolved_at = now
        _announce(ctx, session, conversation, f"resolved by @{staff.name}")
        return ActionResult(conversation_id, f"Resolved #{conversation_id}.")


def hand_off(ctx: BotContext, actor: Actor, conversation_id: int, to_name: str) -> ActionResult:
    """Give the conversation to another staff member."""
    with acting(ctx, actor, conversation_id) as (session, staff, conversation):
        require_open(conversation)
        target = staff_store.staff_by_name(session, to_name)
        if target is None:
            raise UserError(f"I don't know a staff member called {to_name!r}.")
        if target.id == conversation.assignee_id:
            return ActionResult(
                conversation_id, f"#{conversation_id} is already with @{target.name}."
            )
        now = ctx.clock.now()
        previous = conversation.assignee_id
        handling.record(
            session, conversation, "handed_off", staff.id, now, {"to": target.id, "from": previous}
        )
        conversation.assignee_id = target.id
        conversation.status = "claimed"
        _announce(ctx, session, conversation, f"handed off to @{target.name} by @{staff.name}")
    ctx.on_claimed(conversation_id)
    return ActionResult(conversation_id, f"Handed #{conversation_id} to @{target.name}.")


def reopen(ctx: BotContext, actor: Actor, conversation_id: int) -> ActionResult:
    """Start a new cycle on a resolved conversation."""
    with acting(ctx, actor, conversation_id) as (session, staff, conversation):
        if conversation.status != "resolved":
            return ActionResult(conversation_id, f"#{conversation_id} is still open.")
        now = ctx.clock.now()
        handling.start_cycle(session, conversation, now)
        handling.record(session, conversation, "reopened", staff.id, now)
        conversation.status = "open"
        conversation.assignee_id = None
        conversation.resolved_at = None
        _announce(ctx, session, conversation, f"reopened by @{staff.name}")
        return ActionResult(conversation_id, f"Reopened #{conversation_id}.")


def thread_reply(ctx: BotContext, event: ThreadReply) -> ActionResult:
    """A staff message in the alert's thread is their reply (once per delivered event)."""
    return once.run(
        ctx.db,
        event.actor.platform,
        event.delivery_id,
        lambda: reply(ctx, event.actor, event.conversation_id, event.text.strip() or None),
        lambda result: result.message,
    )
