"""Dispatch leases: which replica drains a chat destination right now.

Only the holder of a destination's lease posts to it, so ordering, digests and the
post budget (all per destination) hold across replicas. A lease expires unless it is
renewed; a replica that died leaves a lease that runs out and is taken over.

The claim locks the lease row with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL;
SQLite has one writer at a time and ignores the clause), then writes holder and expiry
in the same transaction: one code path for both databases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime


class DispatchLease(SQLModel, table=True):
    """Who may post to one (platform, destination), until when."""

    __tablename__ = "dispatch_lease"

    platform: str = Field(primary_key=True)
    destination: str = Field(primary_key=True)
    holder: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


def _ensure_row(session: Session, platform: str, destination: str) -> None:
    values = {"platform": platform, "destination": destination}
    dialect = session.get_bind().dialect.name
    table = DispatchLease.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        if session.get(DispatchLease, (platform, destination)) is None:
            session.execute(insert(table).values(values))


def claim(
    session: Session, platform: str, destination: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take (or keep) the destination's lease until ``now + ttl``; False when another
    replica holds an unexpired one."""
    _ensure_row(session, platform, destination)
    free = session.exec(
        select(DispatchLease)
        .where(
            DispatchLease.platform == platform,
            DispatchLease.destination == destination,
            or_(
                col(DispatchLease.holder).is_(None),
                col(DispatchLease.holder) == holder,
                col(DispatchLease.lease_until) < now,
            ),
        )
        .with_for_update(skip_locked=True)
    ).first()
    if free is None:
        return False
    free.holder = holder
    free.lease_until = now + ttl
    session.add(free)
    return True


def renew(
    session: Session, platform: str, destination: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Extend a lease this holder still has; False when it was lost (expired and taken)."""
    result = session.execute(
        update(DispatchLease)
        .where(
            col(DispatchLease.platform) == platform,
            col(DispatchLease.destination) == destination,
            col(DispatchLease.holder) == holder,
        )
        .values(lease_until=now + ttl)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, platform: str, destination: str, holder: str) -> None:
    """Give the lease up (only if this holder still has it)."""
    session.execute(
        update(DispatchLease)
        .where(
            col(DispatchLease.platform) == platform,
            col(DispatchLease.destination) == destination,
            col(DispatchLease.holder) == holder,
        )
        .values(holder=None, lease_until=None)
    )
