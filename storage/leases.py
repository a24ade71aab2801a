"""Dispatch leases: which replica drains a chat destination right now.

Only the holder of a destination's lease posts to it, so ordering, digests and the
post budget (all per destination) hold across replicas. A lease expires unless it is
renewed; a replica that died leaves a lease that runs out and is taken over.

The claim locks the lease row with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL;
SQLite has one writer at a time and ignores the clause), then writes holder and expiry
in the same transaction: one code path for both databases. The statements are Core,
built once, and run on the transaction's connection (``session.connection()`` inside a
session).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class DispatchLease(SQLModel, table=True):
    """Who may post to one (platform, destination), until when."""

    __tablename__ = "dispatch_lease"

    platform: str = Field(primary_key=True)
    destination: str = Field(primary_key=True)
    holder: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


_LEASE: Table = DispatchLease.__table__  # type: ignore[attr-defined]
_KEY = (_LEASE.c.platform == bindparam("p_platform")) & (
    _LEASE.c.destination == bindparam("p_destination")
)
_UNTIL = bindparam("p_until", type_=_LEASE.c.lease_until.type)
# built once: the dispatcher claims and lets go of a lease for every burst of alerts
_ENSURE = {
    "sqlite": sqlite.insert(_LEASE).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(_LEASE).on_conflict_do_nothing(),
}
_FREE = (
    select(_LEASE.c.platform)
    .where(
        _KEY,
        or_(
            _LEASE.c.holder.is_(None),
            _LEASE.c.holder == bindparam("p_holder"),
            _LEASE.c.lease_until < bindparam("p_now", type_=_LEASE.c.lease_until.type),
        ),
    )
    .with_for_update(skip_locked=True)
)
_TAKE = update(_LEASE).where(_KEY).values(holder=bindparam("p_holder"), lease_until=_UNTIL)
_RENEW = (
    update(_LEASE).where(_KEY, _LEASE.c.holder == bindparam("p_holder")).values(lease_until=_UNTIL)
)
_RELEASE = (
    update(_LEASE)
    .where(_KEY, _LEASE.c.holder == bindparam("p_holder"))
    .values(holder=None, lease_until=None)
)


def claim(
    conn: Connection,
    platform: str,
    destination: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Take (or keep) the destination's lease until ``now + ttl``; False when another
    replica holds an unexpired one."""
    key = {"p_platform": platform, "p_destination": destination}
    conn.execute(_ENSURE[conn.dialect.name], {"platform": platform, "destination": destination})
    if conn.execute(_FREE, {**key, "p_holder": holder, "p_now": now}).first() is None:
        return False
    conn.execute(_TAKE, {**key, "p_holder": holder, "p_until": now + ttl})
    return True


def renew(
    conn: Connection,
    platform: str,
    destination: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Extend a lease this holder still has; False when it was lost (expired and taken)."""
    params = {
        "p_platform": platform,
        "p_destination": destination,
        "p_holder": holder,
        "p_until": now + ttl,
    }
    return bool(conn.execute(_RENEW, params).rowcount)


def release(conn: Connection, platform: str, destination: str, holder: str) -> None:
    """Give the lease up (only if this holder still has it)."""
    conn.execute(
        _RELEASE, {"p_platform": platform, "p_destination": destination, "p_holder": holder}
    )
