"""The outbox: messages waiting to be posted. Rows leave 'pending' only when the chat
platform confirmed them; failures are rescheduled, never deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    inspect,
    or_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, col, func, select

from storage.models import Outbox, PostedAlert
from storage.outbox_types import OutboxKind, OutboxStatus

# The dispatcher's statements for every alert are built once, on the tables (Core: no ORM
# compile step, no unit of work), and take their values as bound parameters: building an
# expression costs more than running it on SQLite (the warm-up in bot/dispatch_warmup.py
# compiles them before the first alert).
_OUTBOX: Table = Outbox.__table__  # type: ignore[attr-defined]
_POSTED: Table = PostedAlert.__table__  # type: ignore[attr-defined]
_SENT_VALUES = {
    "status": OutboxStatus.SENT.value,
    "sent_at": bindparam("p_sent_at", type_=_OUTBOX.c.sent_at.type),
    "message_ref": bindparam("p_message_ref", type_=_OUTBOX.c.message_ref.type),
    "attempts": _OUTBOX.c.attempts + 1,
}
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("p_id"), _OUTBOX.c.status != OutboxStatus.SENT.value)
    .values(_SENT_VALUES)
)
_MARK_SENT_AGAIN = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("p_id")).values(_SENT_VALUES)
_POSTED_KEY = [_POSTED.c.conversation_id, _POSTED.c.platform, _POSTED.c.destination]
_NOTE_POSTED = {
    "sqlite": sqlite_insert(_POSTED).on_conflict_do_nothing(index_elements=_POSTED_KEY),
    "postgresql": pg_insert(_POSTED).on_conflict_do_nothing(index_elements=_POSTED_KEY),
}


def pending_count(session: Session) -> int:
    return int(
        session.exec(select(func.count()).where(Outbox.status == OutboxStatus.PENDING)).one()
    )


def alert_pending(session: Session, conversation_id: int, platform: str, destination: str) -> bool:
    """Whether the conversation's alert to this destination is still waiting to be posted."""
    return (
        session.exec(
            select(Outbox.id).where(
                Outbox.conversation_id == conversation_id,
                Outbox.platform == platform,
                Outbox.destination == destination,
                Outbox.kind == OutboxKind.ALERT,
                Outbox.status == OutboxStatus.PENDING,
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


def conversation_for_message(
    session: Session, platform: str, destination: str, message_ref: str
) -> int | None:
    """The conversation whose alert is the message ``message_ref`` on this destination
    (None when the message is not an alert, or is a digest of several conversations)."""
    found = session.exec(
        select(PostedAlert.conversation_id)
        .where(
            PostedAlert.platform == platform,
            PostedAlert.destination == destination,
            PostedAlert.message_ref == message_ref,
        )
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def conversation_for_thread(
    session: Session, platform: str, destination: str, thread_ref: str
) -> int | None:
    """The conversation whose alert thread is ``thread_ref`` in this channel (None when the
    thread is not an alert's, or belongs to a digest of several conversations)."""
    found = session.exec(
        select(PostedAlert.conversation_id)
        .where(
            PostedAlert.platform == platform,
            PostedAlert.destination == destination,
            PostedAlert.thread_ref == thread_ref,
        )
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def sent_alert_payload(
    session: Session, conversation_id: int, platform: str, destination: str
) -> dict[str, Any] | None:
    """The card payload of the conversation's alert as posted to this destination."""
    payload = session.exec(
        select(Outbox.payload)
        .where(
            Outbox.conversation_id == conversation_id,
            Outbox.platform == platform,
            Outbox.destination == destination,
            Outbox.kind == OutboxKind.ALERT,
            Outbox.status == OutboxStatus.SENT,
        )
        .order_by(col(Outbox.id).desc())
    ).first()
    return dict(payload) if payload is not None else None


def first_alert_payload(session: Session, conversation_id: int) -> dict[str, Any] | None:
    """The payload of the conversation's first alert (to re-post it, e.g. on escalation)."""
    row = session.exec(
        select(Outbox)
        .where(Outbox.conversation_id == conversation_id, Outbox.kind == OutboxKind.ALERT)
        .order_by(col(Outbox.id))
    ).first()
    return dict(row.payload) if row is not None else None


_NOW = bindparam("p_now", type_=_OUTBOX.c.next_attempt_at.type)
_DUE = (_OUTBOX.c.status == OutboxStatus.PENDING.value) & (_OUTBOX.c.next_attempt_at <= _NOW)
_DUE_BATCHES = (
    select(_OUTBOX.c.platform, _OUTBOX.c.destination, _OUTBOX.c.group_key, func.max(_OUTBOX.c.id))
    .where(_DUE, _OUTBOX.c.kind == OutboxKind.ALERT.value)
    .group_by(_OUTBOX.c.platform, _OUTBOX.c.destination, _OUTBOX.c.group_key)
)
_AT = (_OUTBOX.c.platform == bindparam("p_platform")) & (
    _OUTBOX.c.destination == bindparam("p_destination")
)
_DUE_ALERTS_OF = _OUTBOX.select().where(_DUE, _OUTBOX.c.kind == OutboxKind.ALERT.value, _AT)
_DUE_ALERTS = {
    True: _DUE_ALERTS_OF.where(_OUTBOX.c.group_key.is_(None)).order_by(_OUTBOX.c.id),
    False: _DUE_ALERTS_OF.where(_OUTBOX.c.group_key == bindparam("p_group")).order_by(_OUTBOX.c.id),
}
_DUE_ALERT_KEYS = (
    select(_OUTBOX.c.group_key)
    .where(_DUE, _OUTBOX.c.kind == OutboxKind.ALERT.value, _AT)
    .distinct()
)
_DUE_OTHER = (
    _OUTBOX.select()
    .where(_DUE, _OUTBOX.c.kind != OutboxKind.ALERT.value)
    .order_by(_OUTBOX.c.id)
    .limit(bindparam("p_limit"))
)
_DUE_OTHER_OF = _DUE_OTHER.where(_AT)


def _outbox_rows(conn: Connection, statement: Select[Any], params: dict[str, Any]) -> list[Outbox]:
    """The rows ``statement`` finds, as (unattached) Outbox objects: read through Core
    (most due scans find nothing, and an ORM query costs ~1 ms to set up even then) and
    filled in the way the ORM fills the objects it loads (Outbox(...) would validate every
    field, ~20x slower per row)."""
    rows = conn.execute(statement, params).mappings().all()
    if not rows:
        return []
    configure_mappers()  # instances made by hand need the class instrumented (a no-op after)
    new = inspect(Outbox).class_manager.new_instance
    found: list[Outbox] = []
    for row in rows:
        obj = new()
        obj.__dict__.update(row)
        found.append(obj)
    return found


def due_alert_batches(conn: Connection, now: datetime) -> list[tuple[str, str, str | None, int]]:
    """(platform, destination, group key, newest row id) of every batch of alerts that is
    due: the id tells a drain under way whether rows were queued after it read its own."""
    rows = conn.execute(_DUE_BATCHES, {"p_now": now}).all()
    return [(p, d, g, int(newest or 0)) for p, d, g, newest in rows]


def due_alert_keys(
    conn: Connection, now: datetime, platform: str, destination: str
) -> list[str | None]:
    """The group keys of one destination's due alerts."""
    params = {"p_now": now, "p_platform": platform, "p_destination": destination}
    return list(conn.execute(_DUE_ALERT_KEYS, params).scalars())


def due_alerts(
    conn: Connection, now: datetime, platform: str, destination: str, group_key: str | None
) -> list[Outbox]:
    """The due alerts of one destination and group, oldest first."""
    params = {"p_now": now, "p_platform": platform, "p_destination": destination}
    if group_key is not None:
        params["p_group"] = group_key
    return _outbox_rows(conn, _DUE_ALERTS[group_key is None], params)


def due_other(conn: Connection, now: datetime, limit: int) -> list[Outbox]:
    """Due rows that are not alerts (follow-ups, updates, notices), oldest first."""
    return _outbox_rows(conn, _DUE_OTHER, {"p_now": now, "p_limit": limit})


def reschedule(session: Session, ids: list[int], when: datetime) -> None:
    """Move pending rows to ``when`` (a budget wait, not a failure: attempts unchanged)."""
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        session.execute(
            update(Outbox).where(col(Outbox.id).in_(chunk)).values(next_attempt_at=when)
        )


def due_followups(session: Session, now: datetime, platform: str, destination: str) -> list[Outbox]:
    """Every due follow-up of one destination, oldest first."""
    return list(
        session.exec(
            select(Outbox)
            .where(
                Outbox.status == OutboxStatus.PENDING,
                Outbox.kind == OutboxKind.FOLLOWUP,
                Outbox.platform == platform,
                Outbox.destination == destination,
                col(Outbox.next_attempt_at) <= now,
            )
            .order_by(col(Outbox.id))
        ).all()
    )


def last_alert_at(session: Session, conversation_id: int, channel: str) -> datetime | None:
    """When the conversation's alert was last queued for ``channel`` (first post or repeat)."""
    return session.exec(
        select(func.max(Outbox.created_at)).where(
            Outbox.conversation_id == conversation_id,
            Outbox.channel == channel,
            Outbox.kind == OutboxKind.ALERT,
        )
    ).one()


def mark_sent(conn: Connection, row_id: int, message_ref: str, now: datetime) -> bool:
    """Mark the row posted as ``message_ref`` at ``now`` (one more attempt); False when it
    was marked sent already (a lease ran out mid-post and another replica posted it too:
    the newer post is the one noted)."""
    params = {"p_id": row_id, "p_sent_at": now, "p_message_ref": message_ref}
    if conn.execute(_MARK_SENT, params).rowcount:
        return True
    if not conn.execute(_MARK_SENT_AGAIN, params).rowcount:
        raise LookupError(f"no outbox row {row_id}")
    return False


def note_posted_alert(conn: Connection, alert: dict[str, Any]) -> None:
    """Note where a conversation's alert landed on a destination (``alert``: the
    ``posted_alert`` columns), unless it was noted already (the first post stays the one
    follow-ups thread under)."""
    conn.execute(_NOTE_POSTED[conn.dialect.name], alert)


_POST_STARTED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("p_ids", expanding=True)))
    .values(post_started_at=bindparam("p_at", type_=_OUTBOX.c.post_started_at.type))
)
_RECENT_POSTS = (
    select(func.min(_OUTBOX.c.sent_at))
    .where(
        _OUTBOX.c.platform == bindparam("p_platform"),
        _OUTBOX.c.destination == bindparam("p_destination"),
        _OUTBOX.c.status == OutboxStatus.SENT.value,
        _OUTBOX.c.sent_at > bindparam("p_since", type_=_OUTBOX.c.sent_at.type),
        _OUTBOX.c.message_ref.is_not(None),
    )
    .group_by(_OUTBOX.c.message_ref)
)


def mark_post_started(conn: Connection, ids: list[int], now: datetime) -> None:
    """Note that posting these rows starts now (see ``Outbox.post_started_at``). Rows
    already loaded keep the value they were read with (the caller decides from it whether
    an earlier attempt may have posted them)."""
    conn.execute(_POST_STARTED, {"p_ids": ids, "p_at": now})


def recent_posts(
    conn: Connection, platform: str, destination: str, since: datetime
) -> list[datetime]:
    """When each message posted to the destination since ``since`` went out, oldest
    first: one time per chat message (the rows of a digest share one message)."""
    rows = conn.execute(
        _RECENT_POSTS, {"p_platform": platform, "p_destination": destination, "p_since": since}
    ).scalars()
    return sorted(t for t in rows if t is not None)


def due_other_of(
    conn: Connection, now: datetime, platform: str, destination: str, limit: int
) -> list[Outbox]:
    """Due rows of one destination that are not alerts, oldest first."""
    params = {"p_now": now, "p_platform": platform, "p_destination": destination}
    return _outbox_rows(conn, _DUE_OTHER_OF, {**params, "p_limit": limit})


# --- admin tools (`crmbot outbox`): look at and act on rows that did not go out ---

RETRIABLE = (
    OutboxStatus.DEAD,
    OutboxStatus.PENDING,
    OutboxStatus.DROPPED,
)  # a sent row is never posted again
DROPPABLE = (OutboxStatus.DEAD, OutboxStatus.PENDING)


def troubled(session: Session, statuses: tuple[OutboxStatus, ...], limit: int) -> list[Outbox]:
    """Rows with one of ``statuses``, newest first; pending rows only when they failed
    at least once (a row merely waiting its turn is no trouble)."""
    failed_pending = and_(col(Outbox.status) == OutboxStatus.PENDING, col(Outbox.attempts) > 0)
    others = [s for s in statuses if s != OutboxStatus.PENDING]
    parts: list[ColumnElement[bool]] = [col(Outbox.status).in_(others)] if others else []
    if OutboxStatus.PENDING in statuses:
        parts.append(failed_pending)
    condition = or_(*parts)
    return list(
        session.exec(
            select(Outbox).where(condition).order_by(col(Outbox.id).desc()).limit(limit)
        ).all()
    )


def statuses_of(session: Session, ids: list[int]) -> dict[int, OutboxStatus]:
    """The status of each of ``ids`` that exists."""
    rows = session.exec(select(Outbox.id, Outbox.status).where(col(Outbox.id).in_(ids))).all()
    return {row_id: OutboxStatus(status) for row_id, status in rows if row_id is not None}


def dead_ids(session: Session) -> list[int]:
    """Every dead-lettered row, oldest first."""
    found = session.exec(
        select(Outbox.id).where(Outbox.status == OutboxStatus.DEAD).order_by(col(Outbox.id))
    ).all()
    return [row_id for row_id in found if row_id is not None]


def requeue(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Put rows that did not go out back in line, due ``now`` (attempts kept); return
    the ids that were requeued (sent rows are left alone)."""
    chosen = _with_status(session, ids, RETRIABLE)
    for chunk_start in range(0, len(chosen), 500):
        chunk = chosen[chunk_start : chunk_start + 500]
        session.execute(
            update(Outbox)
            .where(col(Outbox.id).in_(chunk), col(Outbox.status).in_(RETRIABLE))
            .values(status=OutboxStatus.PENDING, next_attempt_at=now)
        )
    return chosen


def drop(session: Session, ids: list[int]) -> list[int]:
    """Mark rows that did not go out 'dropped' (kept, never posted); return their ids."""
    chosen = _with_status(session, ids, DROPPABLE)
    for chunk_start in range(0, len(chosen), 500):
        chunk = chosen[chunk_start : chunk_start + 500]
        session.execute(
            update(Outbox)
            .where(col(Outbox.id).in_(chunk), col(Outbox.status).in_(DROPPABLE))
            .values(status=OutboxStatus.DROPPED)
        )
    return chosen


def _with_status(session: Session, ids: list[int], statuses: tuple[OutboxStatus, ...]) -> list[int]:
    found: list[int] = []
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        found += [
            row_id
            for row_id in session.exec(
                select(Outbox.id).where(col(Outbox.id).in_(chunk), col(Outbox.status).in_(statuses))
            ).all()
            if row_id is not None
        ]
    return sorted(found)
