"""Inbound deliveries already acted on, so a redelivered chat event is done once.

Chat platforms deliver at least once: Slack retries an event it thinks went unanswered
(same ``event_id``), and a replayed request carries the same ``trigger_id``. The key of
each delivery that changed something is inserted in the same transaction as the change;
a second insert of the same key finds it and the action is not recorded again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, select

from storage.types import UTCDateTime

KEY_MAX = 200


class InboundDelivery(SQLModel, table=True):
    """One processed delivery: (platform, key), when, and what its sender was told."""

    __tablename__ = "inbound_delivery"

    platform: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    answer: str | None = None


def first_time(session: Session, platform: str, key: str, now: datetime) -> bool:
    """Insert the key in ``session``'s transaction: True the first time, False when another
    transaction already inserted it (PostgreSQL waits for that one to commit or roll back)."""
    bind = session.get_bind()
    values = {"platform": platform, "key": key[:KEY_MAX], "created_at": now, "answer": None}
    table = InboundDelivery.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(values).on_conflict_do_nothing().returning(table.c.key)
    return session.connection().execute(stmt).first() is not None


def answer_of(session: Session, platform: str, key: str) -> str | None:
    """What the first delivery of ``key`` answered, when it was remembered."""
    return session.exec(
        select(InboundDelivery.answer).where(
            InboundDelivery.platform == platform, InboundDelivery.key == key[:KEY_MAX]
        )
    ).first()


def remember_answer(session: Session, platform: str, key: str, answer: str) -> None:
    """Keep the answer so a redelivery is answered the same way."""
    session.connection().execute(
        update(InboundDelivery)
        .where(
            InboundDelivery.platform == platform,  # type: ignore[arg-type]
            InboundDelivery.key == key[:KEY_MAX],  # type: ignore[arg-type]
        )
        .values(answer=answer[:2000])
    )


def prune(session: Session, before: datetime) -> int:
    """Forget deliveries older than ``before`` (platforms stop retrying within minutes)."""
    result = session.connection().execute(
        delete(InboundDelivery).where(InboundDelivery.created_at < before)  # type: ignore[arg-type]
    )
    return int(result.rowcount or 0)
