"""Where each poller left off, and how healthy it is: one row per configured poller.

The cursor is whatever the platform needs to resume (an ETag, a since_id, the newest
timestamp seen) as a JSON object. It is written after the batch it covers has been
ingested, so a crash in between re-reads a few items that deduplication then drops:
nothing is lost and nothing is stored twice.

The health columns drive backoff (``next_attempt_at``) and the once-only notices to the
admins (``broken_since`` is set when they were told a source is broken, cleared when they
were told it recovered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from storage.types import UTCDateTime


class SourceCursor(SQLModel, table=True):
    """A poller's resume point and health, keyed by (kind, name) from ``[sources.<kind>.<name>]``."""

    __tablename__ = "source_cursor"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    name: str
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    failures: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    broken_since: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    updated_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)


@dataclass(slots=True)
class SourceState:
    """A detached copy of a poller's row, for the poller to read and change."""

    kind: str
    name: str
    cursor: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    broken_since: datetime | None = None
    last_success_at: datetime | None = None


def load_state(session: Session, kind: str, name: str) -> SourceState:
    """The stored state of a poller (a fresh one when it never ran)."""
    row = _row(session, kind, name)
    return SourceState(kind, name) if row is None else _state(row)


def save_state(session: Session, state: SourceState, now: datetime) -> None:
    """Write ``state`` back (insert on the first run)."""
    row = _row(session, state.kind, state.name)
    if row is None:
        row = SourceCursor(kind=state.kind, name=state.name)
    row.cursor = dict(state.cursor)
    row.failures = state.failures
    row.last_error = state.last_error
    row.next_attempt_at = state.next_attempt_at
    row.broken_since = state.broken_since
    row.last_success_at = state.last_success_at
    row.updated_at = now
    session.add(row)


def all_states(session: Session) -> list[SourceState]:
    """Every poller's state, for status displays."""
    rows = session.exec(select(SourceCursor).order_by(SourceCursor.kind, SourceCursor.name))
    return [_state(row) for row in rows]


def _state(row: SourceCursor) -> SourceState:
    return SourceState(
        kind=row.kind,
        name=row.name,
        cursor=dict(row.cursor or {}),
        failures=row.failures,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        broken_since=row.broken_since,
        last_success_at=row.last_success_at,
    )


def _row(session: Session, kind: str, name: str) -> SourceCursor | None:
    return session.exec(
        select(SourceCursor).where(SourceCursor.kind == kind, SourceCursor.name == name)
    ).first()
