"""Conversation lookups for commands: one by id, the open queue, someone's own."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Author, Conversation, Cycle

MAX_ID = 2**31 - 1  # ids are INTEGER columns; a larger number names no conversation


def valid_id(conversation_id: int) -> bool:
    """Whether ``conversation_id`` could name a conversation (a huge one cannot be queried)."""
    return 0 < conversation_id <= MAX_ID


def get(session: Session, conversation_id: int) -> Conversation | None:
    """A conversation by its number (None for a number no conversation can have)."""
    if not valid_id(conversation_id):
        return None
    return session.get(Conversation, conversation_id)


def lock(session: Session, conversation_id: int) -> Conversation | None:
    """The conversation, read as it is now and locked until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE``, so a second action on it waits, then sees the
    first one's result. SQLite has one writer; :class:`storage.db.Database` queues this
    process's transactions, so the row read here cannot change before the commit.
    """
    if not valid_id(conversation_id):
        return None
    return session.exec(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def open_queue(session: Session, limit: int = 20) -> list[tuple[Conversation, Author | None]]:
    """Open conversations, unclaimed first, then oldest first."""
    rows = session.exec(
        select(Conversation, Author)
        .join(Author, col(Author.id) == col(Conversation.author_id), isouter=True)
        .where(Conversation.status != "resolved")
        .order_by(col(Conversation.assignee_id).is_not(None), col(Conversation.created_at))
        .limit(limit)
    ).all()
    return [(c, a) for c, a in rows]


def count_open(session: Session) -> tuple[int, int]:
    """(open conversations, of which unclaimed)."""
    rows = session.exec(
        select(Conversation.assignee_id).where(Conversation.status != "resolved")
    ).all()
    return len(rows), sum(1 for r in rows if r is None)


def assigned_to(session: Session, staff_id: int, limit: int = 20) -> list[Conversation]:
    """Open conversations claimed by ``staff_id``, oldest first."""
    return list(
        session.exec(
            select(Conversation)
            .where(Conversation.assignee_id == staff_id, Conversation.status != "resolved")
            .order_by(col(Conversation.created_at))
            .limit(limit)
        ).all()
    )


def unclaimed_since(session: Session, before: datetime, limit: int = 500) -> list[Conversation]:
    """Open, unclaimed conversations whose current cycle began before ``before``."""
    return list(
        session.exec(
            select(Conversation)
            .join(
                Cycle,
                (col(Cycle.conversation_id) == col(Conversation.id))
                & (col(Cycle.n) == col(Conversation.cycle)),
            )
            .where(
                Conversation.status == "open",
                col(Conversation.assignee_id).is_(None),
                col(Cycle.received_at) <= before,
            )
            .order_by(col(Conversation.id))
            .limit(limit)
        ).all()
    )
