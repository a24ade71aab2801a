"""The outbox: messages waiting to be posted. Rows leave 'pending' only when the chat
platform confirmed them; failures are rescheduled, never deleted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import Outbox, PostedAlert


def due(session: Session, now: datetime, limit: int = 100) -> list[Outbox]:
    """Pending rows whose next attempt is due, oldest first."""
    return list(
        session.exec(
            select(Outbox)
            .where(Outbox.status == "pending", col(Outbox.next_attempt_at) <= now)
            .order_by(col(Outbox.id))
            .limit(limit)
        ).all()
    )


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending row is due."""
    return session.exec(
        select(func.min(Outbox.next_attempt_at)).where(Outbox.status == "pending")
    ).one()


def pending_count(session: Session) -> int:
    return int(session.exec(select(func.count()).where(Outbox.status == "pending")).one())


def alert_pending(session: Session, conversation_id: int, platform: str, destination: str) -> bool:
    """Whether the conversation's alert to this destination is still waiting to be posted."""
    return (
        session.exec(
            select(Outbox.id).where(
                Outbox.conversation_id == conversation_id,
                Outbox.platform == platform,
                Outbox.destination == destination,
                Outbox.kind == "alert",
                Outbox.status == "pending",
            )
        ).first()
        is not None
    )


def posted_alert(
    session: Session, conversation_id: int, platform: str, destination: str
) -> PostedAlert | None:
    """Where the conversation's alert landed on this destination."""
    return session.exec(
        select(PostedAlert).where(
            PostedAlert.conversation_id == conversation_id,
            PostedAlert.platform == platform,
            PostedAlert.destination == destination,
        )
    ).first()
