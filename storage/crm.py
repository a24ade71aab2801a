"""The CRM side of conversations: enrichments waiting to run, leads created from social
conversations, and the deals linked to their contacts (docs/crm.md).

- ``crm_enrichment``: one row per CRM event that named an object by id only. Written in
  the ingest transaction, so it is never lost; a worker claims due rows (a conditional
  update, safe with several replicas), reads the object from the CRM, and marks the row
  done, or pushes ``next_attempt_at`` back when the CRM is rate limiting or down.
- ``crm_lead``: a conversation's author made a CRM contact by a staff member.
- ``crm_deal``: a deal crmbot has seen, with the local contact it is associated with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Index, UniqueConstraint, insert, select, update
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

PENDING, DONE, FAILED = "pending", "done", "failed"


class CrmEnrichment(SQLModel, table=True):
    """A CRM object to read after ingest, for the CRM event (source, external_id)."""

    __tablename__ = "crm_enrichment"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_crm_enrichment_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str  # the CRM event's
    object_type: str  # contact | deal
    object_id: str  # the id in the CRM
    status: str = PENDING  # pending | done | failed
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)
    next_attempt_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)


class CrmLead(SQLModel, table=True):
    """A lead created from a social conversation by a staff member (once per conversation)."""

    __tablename__ = "crm_lead"
    __table_args__ = (UniqueConstraint("conversation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    crm: str
    source: str  # the conversation's source (mastodon, bluesky, reddit, a webhook source)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created: bool = True  # False: an existing CRM contact was reused
    url: str | None = None
    at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False, index=True)


class CrmDeal(SQLModel, table=True):
    """A CRM deal and the local contact it is associated with (its first one)."""

    __tablename__ = "crm_deal"
    __table_args__ = (UniqueConstraint("crm", "deal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    crm: str
    deal_id: str
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    name: str | None = None
    amount: float | None = None
    stage: str | None = None
    first_seen_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)
    updated_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)


def _t(model: Any) -> Any:
    return model.__table__


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed enrichment, with the conversation its CRM event belongs to."""

    id: int
    source: str
    external_id: str
    object_type: str
    object_id: str
    attempts: int


def queue_enrichments(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Add enrichments (``source``, ``external_id``, ``object_type``, ``object_id``), due now."""
    if rows:
        conn.execute(
            insert(_t(CrmEnrichment)),
            [{**r, "status": PENDING, "created_at": now, "next_attempt_at": now} for r in rows],
        )


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Due]:
    """Claim up to ``limit`` due enrichments: each is pushed ``lease`` into the future
    first, so another replica (or a run after a crash) takes it only once that passed."""
    t = _t(CrmEnrichment)
    rows = conn.execute(
        select(t.c.id, t.c.next_attempt_at)
        .where(t.c.status == PENDING, t.c.next_attempt_at <= now)
        .order_by(t.c.next_attempt_at, t.c.id)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for row in rows:
        done = conn.execute(
            update(t)
            .where(
                t.c.id == row.id, t.c.status == PENDING, t.c.next_attempt_at == row.next_attempt_at
            )
            .values(next_attempt_at=now + lease)
        )
        if done.rowcount == 1:
            claimed.append(row.id)
    if not claimed:
        return []
    found = conn.execute(select(t).where(t.c.id.in_(claimed)).order_by(t.c.id)).all()
    return [
        Due(r.id, r.source, r.external_id, r.object_type, r.object_id, r.attempts) for r in found
    ]


def finish(conn: Connection, enrichment_id: int, now: datetime, error: str | None = None) -> None:
    """Mark an enrichment done (or failed for good with ``error``)."""
    conn.execute(
        update(_t(CrmEnrichment))
        .where(_t(CrmEnrichment).c.id == enrichment_id)
        .values(status=DONE if error is None else FAILED, last_error=error, done_at=now)
    )


def retry_later(conn: Connection, enrichment_id: int, at: datetime, error: str) -> None:
    """Leave an enrichment pending until ``at``, counting the attempt."""
    t = _t(CrmEnrichment)
    conn.execute(
        update(t)
        .where(t.c.id == enrichment_id)
        .values(next_attempt_at=at, last_error=error, attempts=t.c.attempts + 1)
    )


def next_due(conn: Connection) -> datetime | None:
    """When the next pending enrichment is due (None: nothing pending)."""
    t = _t(CrmEnrichment)
    value = conn.execute(
        select(t.c.next_attempt_at)
        .where(t.c.status == PENDING)
        .order_by(t.c.next_attempt_at)
        .limit(1)
    ).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


def enrichment_state(conn: Connection) -> dict[str, int]:
    """How many enrichments are in each status (for tests and ``/crm`` diagnostics)."""
    t = _t(CrmEnrichment)
    counts: dict[str, int] = {}
    for (status,) in conn.execute(select(t.c.status)):
        counts[status] = counts.get(status, 0) + 1
    return counts


def upsert_deal(
    conn: Connection,
    crm: str,
    deal_id: str,
    values: dict[str, Any],
    now: datetime,
) -> None:
    """Create or update a deal (None values leave fields as they are)."""
    t = _t(CrmDeal)
    fields = {k: v for k, v in values.items() if v is not None}
    existing = conn.execute(
        select(t.c.id).where(t.c.crm == crm, t.c.deal_id == deal_id)
    ).scalar_one_or_none()
    if existing is None:
        conn.execute(
            insert(t).values(crm=crm, deal_id=deal_id, first_seen_at=now, updated_at=now, **fields)
        )
    else:
        conn.execute(update(t).where(t.c.id == existing).values(updated_at=now, **fields))


def lead_of(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    """The lead already made from this conversation, if any."""
    t = _t(CrmLead)
    row = conn.execute(select(t).where(t.c.conversation_id == conversation_id)).first()
    return dict(row._mapping) if row is not None else None


def add_lead(conn: Connection, values: dict[str, Any]) -> None:
    """Record a lead (``conversation_id``, ``contact_id``, ``crm``, ``source``, ``staff_id``,
    ``created``, ``url``, ``at``)."""
    conn.execute(insert(_t(CrmLead)).values(**values))
