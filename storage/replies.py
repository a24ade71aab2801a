"""Replies to the customer, published through the platforms' clients (the reply outbox).

``social_reply`` is one staff reply to one mention: drafted (``awaiting`` approval),
``queued`` for the publish worker, then ``published`` (with the platform's id and link),
``rejected`` by an approver, or ``failed`` for good. ``key`` is its idempotency key, the
same on every attempt. ``post_started_at`` is set before each call to the platform, so a
row found with it set may already be on the platform (the process died, or the call timed
out): the worker asks the platform before publishing again (docs/replies.md).

Several replicas may run the worker: :func:`claim` takes a row with one conditional
``UPDATE`` (state queued, due, and no unexpired claim), which only one transaction can win
on SQLite and PostgreSQL alike; a claim that is not released runs out and the row is
taken over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime

STATES = ("awaiting", "queued", "published", "rejected", "failed")


def _at(index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=True, index=index)


class SocialReply(SQLModel, table=True):
    """One staff reply to a customer's post."""

    __tablename__ = "social_reply"
    __table_args__ = (Index("ix_social_reply_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    cycle: int = 1
    mention_id: int = Field(foreign_key="mention.id")
    source: str  # the configured source name
    source_kind: str  # mastodon | bluesky | reddit | webhook
    platform: str
    text: str
    state: str = "awaiting"  # awaiting | queued | published | rejected | failed
    author_id: int = Field(foreign_key="staff.id")
    approver_id: int | None = Field(default=None, foreign_key="staff.id")
    reviewed_at: datetime | None = _at()
    key: str = Field(unique=True)
    attempts: int = 0
    next_attempt_at: datetime | None = _at()
    claimed_by: str | None = None
    claimed_until: datetime | None = _at()
    post_started_at: datetime | None = _at()
    published_at: datetime | None = _at()
    external_id: str | None = None
    url: str | None = None
    last_error: str | None = None
    suggestion_id: int | None = Field(default=None, foreign_key="suggestion.id")
    created_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)


def get(session: Session, reply_id: int) -> SocialReply | None:
    """A reply by id (None for an id no row can have)."""
    if not 0 < reply_id < 2**63:
        return None
    return session.get(SocialReply, reply_id)


def lock(session: Session, reply_id: int) -> SocialReply | None:
    """The reply, locked until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    if not 0 < reply_id < 2**63:
        return None
    return session.exec(
        select(SocialReply)
        .where(SocialReply.id == reply_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def awaiting(session: Session, limit: int = 50) -> list[SocialReply]:
    """Drafts waiting for approval, oldest first."""
    return list(
        session.exec(
            select(SocialReply)
            .where(SocialReply.state == "awaiting")
            .order_by(col(SocialReply.id))
            .limit(limit)
        ).all()
    )


def due_ids(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Queued replies that are due and not claimed by a live worker, oldest first."""
    found = session.exec(
        select(SocialReply.id)
        .where(
            SocialReply.state == "queued",
            or_(
                col(SocialReply.next_attempt_at).is_(None),
                col(SocialReply.next_attempt_at) <= now,
            ),
            or_(col(SocialReply.claimed_until).is_(None), col(SocialReply.claimed_until) <= now),
        )
        .order_by(col(SocialReply.id))
        .limit(limit)
    ).all()
    return [reply_id for reply_id in found if reply_id is not None]


def claim(session: Session, reply_id: int, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the queued, due reply for ``ttl``; False when it is not due, not queued, or
    another worker holds it. One conditional UPDATE: of two workers, one wins."""
    table = SocialReply.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(
            table.c.id == reply_id,
            table.c.state == "queued",
            or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
            or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now),
        )
        .values(claimed_by=holder, claimed_until=now + ttl)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
