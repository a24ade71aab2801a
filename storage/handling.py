"""Recording who did what to a conversation, and keeping its cycle's metric times current."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlmodel import Session, select

from storage import rollups
from storage.models import Conversation, Cycle, HandlingEvent

HANDLING_KINDS = (
    "alerted",
    "claimed",
    "replied",
    "handed_off",
    "resolved",
    "reopened",
    "escalated",
    "lead_created",
    "lead_requested",
    "lead_rejected",
)


_CYCLE: Table = Cycle.__table__  # type: ignore[attr-defined]
_CONVERSATION: Table = Conversation.__table__  # type: ignore[attr-defined]
_EVENT: Table = HandlingEvent.__table__  # type: ignore[attr-defined]
# built once (the dispatcher runs them for every conversation's first alert)
_ALERTED = (
    update(_CYCLE)
    .where(
        _CYCLE.c.conversation_id == bindparam("p_conversation"),
        _CYCLE.c.n
        == _CONVERSATION.select()
        .with_only_columns(_CONVERSATION.c.cycle)
        .where(_CONVERSATION.c.id == bindparam("p_conversation"))
        .scalar_subquery(),
        _CYCLE.c.alerted_at.is_(None),
    )
    .values(alerted_at=bindparam("p_at", type_=_CYCLE.c.alerted_at.type))
    .returning(_CYCLE.c.n)
)
_ALERTED_EVENT = insert(_EVENT)
_TOUCHED = (
    update(_CONVERSATION)
    .where(_CONVERSATION.c.id == bindparam("p_conversation"))
    .values(last_activity_at=bindparam("p_at", type_=_CONVERSATION.c.last_activity_at.type))
)


def record_alerted(
    conn: Connection, conversation_id: int, at: datetime, detail: dict[str, Any]
) -> int | None:
    """The conversation's current cycle was alerted at ``at``: what :func:`record` does for
    an "alerted" event (the event, the cycle's alerted time, the conversation's last
    activity; an alert moves no metric rollup), in three statements, only when the cycle
    was not alerted yet. Returns the cycle's number, or None when it had been alerted (or
    the conversation has no such cycle)."""
    found = conn.execute(_ALERTED, {"p_conversation": conversation_id, "p_at": at}).first()
    if found is None:
        return None
    cycle = int(found[0])
    conn.execute(
        _ALERTED_EVENT,
        {
            "conversation_id": conversation_id,
            "cycle": cycle,
            "kind": "alerted",
            "actor_id": None,
            "at": at,
            "detail": detail,
        },
    )
    conn.execute(_TOUCHED, {"p_conversation": conversation_id, "p_at": at})
    return cycle


def current_cycle(session: Session, conversation: Conversation) -> Cycle:
    """The cycle the conversation is in now."""
    cycle = session.exec(
        select(Cycle).where(Cycle.conversation_id == conversation.id, Cycle.n == conversation.cycle)
    ).first()
    if cycle is None:
        raise LookupError(f"conversation {conversation.id} has no cycle {conversation.cycle}")
    return cycle


def record(
    session: Session,
    conversation: Conversation,
    kind: str,
    actor_id: int | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> HandlingEvent:
    """Append a handling event and fold it into the current cycle's times.

    Only the first claim, first reply and the resolution of a cycle set its times; a bot
    action (actor None) never counts as a staff response.
    """
    if kind not in HANDLING_KINDS:
        raise ValueError(f"unknown handling event kind {kind!r}")
    assert conversation.id is not None
    event = HandlingEvent(
        conversation_id=conversation.id,
        cycle=conversation.cycle,
        kind=kind,
        actor_id=actor_id,
        at=at,
        detail=detail or {},
    )
    session.add(event)
    cycle = current_cycle(session, conversation)
    before = (cycle.claim_s, cycle.first_response_s, cycle.resolution_s)
    if kind == "alerted" and cycle.alerted_at is None:
        cycle.alerted_at = at
    elif kind == "claimed" and cycle.claimed_at is None and actor_id is not None:
        cycle.claimed_at, cycle.claimed_by = at, actor_id
        cycle.claim_s = _seconds(at, cycle.alerted_at or cycle.received_at)
    elif kind == "replied" and cycle.first_response_at is None and actor_id is not None:
        cycle.first_response_at, cycle.first_response_by = at, actor_id
        cycle.first_response_s = _seconds(at, cycle.received_at)
    elif kind == "resolved":
        cycle.resolved_at, cycle.resolved_by = at, actor_id
        cycle.resolution_s = _seconds(at, cycle.received_at)
    session.add(cycle)
    conversation.last_activity_at = at
    session.add(conversation)
    rollups.on_recorded(session, cycle, event, before)  # metric rollups, same transaction
    return event


def start_cycle(session: Session, conversation: Conversation, at: datetime) -> Cycle:
    """Begin the next cycle (a reopen): a fresh received time and no handling yet."""
    previous = current_cycle(session, conversation).received_at
    conversation.cycle += 1
    cycle = Cycle(
        conversation_id=conversation.id or 0,
        n=conversation.cycle,
        source=conversation.source,
        severity=conversation.severity,
        team=conversation.team,
        received_at=at,
        previous_received_at=previous,
        alerted_at=at,
    )
    session.add(conversation)
    session.add(cycle)
    rollups.count_cycles(session, rollups.day_of(at), cycles=1, conversations=0)
    return cycle


def events_of(session: Session, conversation_id: int) -> list[HandlingEvent]:
    """The conversation's handling history, oldest first."""
    return list(
        session.exec(
            select(HandlingEvent)
            .where(HandlingEvent.conversation_id == conversation_id)
            .order_by(HandlingEvent.at, HandlingEvent.id)  # type: ignore[arg-type]
        ).all()
    )


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


def has_event(session: Session, conversation_id: int, cycle: int, kind: str, rule: str) -> bool:
    """Whether the cycle already has a ``kind`` event recorded for ``rule``."""
    return has_event_with(session, conversation_id, cycle, kind, "rule", rule)


def has_event_with(
    session: Session, conversation_id: int, cycle: int, kind: str, key: str, value: object
) -> bool:
    """Whether the cycle already has a ``kind`` event whose detail has ``key`` = ``value``."""
    for event in session.exec(
        select(HandlingEvent).where(
            HandlingEvent.conversation_id == conversation_id,
            HandlingEvent.cycle == cycle,
            HandlingEvent.kind == kind,
        )
    ).all():
        if event.detail.get(key) == value:
            return True
    return False
