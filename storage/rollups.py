"""Metric rollups kept current as handling events are recorded (README "Metrics, defined").

``metric_day``: per received day (and per hour of it), one row per measure holding everyone at once
(:mod:`storage.rollup_packed`): for ``claim``, ``first_response`` and ``resolution`` the
count, sum and sketch of the durations for all cycles (group 0) and for each staff member
credited; for ``handled`` the cycles each person acted on; and the counters ``cycles`` and
``conversations`` (new cycles, and how many of them were first cycles; whole days only).
`/crm metrics` reads ~6 rows a day from it, and the hours of a partial first day.

``metric_rollup``: one row per received day x team x source x severity (``staff_id = 0``)
per sketched measure, for breakdowns by those keys.

Rows are keyed by the day the *cycle was received*, so a query over "cycles received
since X" merges whole days from here and reads only the partial first day from ``cycle``.
Sketches: :mod:`storage.rollup_sketch` (0.4% relative accuracy).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage import rollup_packed
from storage.models import Cycle, HandlingEvent
from storage.rollup_sketch import key_of, merge
from storage.rollup_table import MetricDay, MetricRollup

SKETCHED = {"claim_s": "claim", "first_response_s": "first_response", "resolution_s": "resolution"}
CREDIT = {"claim": "claimed_by", "first_response": "first_response_by", "resolution": "resolved_by"}
EVERYONE = 0  # the group id of all cycles together in a metric_day row
WHOLE_DAY = -1  # metric_day.hour of a whole day's row


# -- upkeep inside record() ---------------------------------------------------------------


def day_of(when: datetime) -> date:
    return when.astimezone(UTC).date()


def _bump(
    session: Session,
    key: dict[str, Any],
    measure: str,
    value: float | None,
) -> None:
    """Add one observation (or one count when ``value`` is None) to a rollup row."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    row_key = {**key, "measure": measure}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(table).values(**row_key, count=0, total=0.0, sketch=b"").on_conflict_do_nothing()
    )
    columns: Any = table.c
    query = select(table.c.id, table.c.sketch).where(
        *(columns[name] == v for name, v in row_key.items())
    )
    if dialect == "postgresql":
        query = query.with_for_update()
    row_id, blob = session.execute(query).one()
    values: dict[str, Any] = {"count": table.c.count + 1}
    if value is not None:
        values["total"] = table.c.total + value
        values["sketch"] = merge([blob or b""], [key_of(value)])
    session.execute(table.update().where(table.c.id == row_id).values(**values))


def _add_to_day(
    session: Session, received: datetime, measure: str, added: rollup_packed.Packed
) -> None:
    """Fold ``added`` into the ``metric_day`` rows for ``measure`` of the day and of the
    hour ``received`` falls in (locked on PostgreSQL while they are rewritten)."""
    table = MetricDay.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    day, hour = day_of(received), received.astimezone(UTC).hour
    for span in (WHOLE_DAY, hour):
        key = {"day": day, "hour": span, "measure": measure}
        session.execute(insert(table).values(**key, count=0, data=b"").on_conflict_do_nothing())
        query = select(table.c.id, table.c.data).where(
            table.c.day == day, table.c.hour == span, table.c.measure == measure
        )
        if dialect == "postgresql":
            query = query.with_for_update()
        row_id, blob = session.execute(query).one()
        data = rollup_packed.encode(rollup_packed.combine([rollup_packed.decode(blob), added]))
        session.execute(table.update().where(table.c.id == row_id).values(data=data))


def on_recorded(
    session: Session,
    cycle: Cycle,
    event: HandlingEvent,
    before: tuple[float | None, float | None, float | None],
) -> None:
    """Fold what ``event`` just set on ``cycle`` into the rollups (same transaction)."""
    day = day_of(cycle.received_at)
    group = {
        "day": day,
        "staff_id": 0,
        "team": cycle.team or "",
        "source": cycle.source,
        "severity": cycle.severity,
    }
    after = (cycle.claim_s, cycle.first_response_s, cycle.resolution_s)
    for measure, old, new in zip(SKETCHED.values(), before, after, strict=True):
        if old is None and new is not None:
            _bump(session, group, measure, new)
            staff = getattr(cycle, CREDIT[measure])
            owners = (EVERYONE,) if staff is None else (EVERYONE, staff)
            _add_to_day(
                session,
                cycle.received_at,
                measure,
                rollup_packed.observations(owners, [new] * len(owners)),
            )
    if event.actor_id is not None:
        seen = session.execute(
            select(func.count())
            .select_from(HandlingEvent)
            .where(
                col(HandlingEvent.conversation_id) == event.conversation_id,
                col(HandlingEvent.cycle) == event.cycle,
                col(HandlingEvent.actor_id) == event.actor_id,
            )
        ).scalar_one()
        if seen == 1:  # this event (already flushed) is the person's first on the cycle
            _add_to_day(
                session,
                cycle.received_at,
                "handled",
                rollup_packed.observations((event.actor_id,), None),
            )


def _count_upsert(insert: Any) -> Any:
    table = MetricDay.__table__  # type: ignore[attr-defined]
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.day, table.c.hour, table.c.measure],
        set_={"count": table.c.count + stmt.excluded.count},
    )


# built once: ingest runs it for every batch that opens conversations
_COUNT = {"postgresql": _count_upsert(pg_insert), "sqlite": _count_upsert(sqlite_insert)}


def count_cycles(conn: Connection | Session, day: date, cycles: int, conversations: int) -> None:
    """Add new cycles (and how many of them are new conversations) to the day's totals:
    ingest, reopens and spike alerts call this in the transaction that creates them."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    stmt = _COUNT[bind.dialect.name]
    for measure, n in (("cycles", cycles), ("conversations", conversations)):
        if not n:
            continue
        row = {"day": day, "hour": WHOLE_DAY, "measure": measure, "count": n, "data": b""}
        conn.execute(stmt, row)


# -- rebuild ------------------------------------------------------------------------------


@dataclass
class _Acc:
    count: int = 0
    total: float = 0.0
    keys: list[int] = field(default_factory=list)


@dataclass
class _Day:
    """What one ``metric_day`` row gathers during a rebuild."""

    count: int = 0
    owners: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def rebuild(conn: Connection) -> int:
    """Recompute every rollup row from cycles and handling events; returns rows written."""
    groups: dict[tuple[Any, ...], _Acc] = defaultdict(_Acc)
    days: dict[tuple[date, int, str], _Day] = defaultdict(_Day)
    cycles = conn.execute(
        text(
            "SELECT received_at, team, source, severity, claim_s, claimed_by, first_response_s,"
            " first_response_by, resolution_s, resolved_by, n FROM cycle"
        )
    )
    received_type = Cycle.__table__.c.received_at.type  # type: ignore[attr-defined]
    process = received_type.result_processor(conn.dialect, None)
    for row in cycles:
        received = process(row[0]) if process else row[0]
        day, hour = day_of(received), received.astimezone(UTC).hour
        days[(day, WHOLE_DAY, "cycles")].count += 1
        if row[10] == 1:
            days[(day, WHOLE_DAY, "conversations")].count += 1
        group = (day, 0, row[1] or "", row[2], row[3])
        for measure, (value, staff) in zip(
            SKETCHED.values(), ((row[4], row[5]), (row[6], row[7]), (row[8], row[9])), strict=True
        ):
            if value is None:
                continue
            value = float(value)
            acc = groups[(*group, measure)]
            acc.count += 1
            acc.total += value
            acc.keys.append(key_of(value))
            entry = days[(day, hour, measure)]
            for owner in (EVERYONE,) if staff is None else (EVERYONE, int(staff)):
                entry.owners.append(owner)
                entry.values.append(value)
    handled = conn.execute(
        text(
            "SELECT DISTINCT c.received_at, h.actor_id, h.conversation_id, h.cycle"
            " FROM handling_event h JOIN cycle c"
            " ON c.conversation_id = h.conversation_id AND c.n = h.cycle"
            " WHERE h.actor_id IS NOT NULL"
        )
    )
    for row in handled:
        received = process(row[0]) if process else row[0]
        at = received.astimezone(UTC)
        days[(at.date(), at.hour, "handled")].owners.append(int(row[1]))
    return _write(conn, groups, days)


def _write(
    conn: Connection,
    groups: dict[tuple[Any, ...], _Acc],
    days: dict[tuple[date, int, str], _Day],
) -> int:
    """Replace every rollup row with the rebuilt ones (a day's row: its hours combined)."""
    rollup, day_table = MetricRollup.__table__, MetricDay.__table__  # type: ignore[attr-defined]
    conn.execute(rollup.delete())
    conn.execute(day_table.delete())
    rows = [
        {
            "day": day,
            "staff_id": staff,
            "team": team,
            "source": source,
            "severity": severity,
            "measure": measure,
            "count": acc.count,
            "total": acc.total,
            "sketch": merge([], acc.keys),
        }
        for (day, staff, team, source, severity, measure), acc in groups.items()
    ]
    day_rows = []
    hours: dict[tuple[date, str], list[rollup_packed.Packed]] = defaultdict(list)
    for (day, hour, measure), entry in days.items():
        if hour == WHOLE_DAY:  # the counters
            day_rows.append(_day_row(day, hour, measure, entry.count, b""))
            continue
        values = None if measure == "handled" else entry.values
        packed = rollup_packed.combine([rollup_packed.observations(entry.owners, values)])
        hours[(day, measure)].append(packed)
        day_rows.append(_day_row(day, hour, measure, 0, rollup_packed.encode(packed)))
    for (day, measure), parts in hours.items():
        whole = rollup_packed.encode(rollup_packed.combine(parts))
        day_rows.append(_day_row(day, WHOLE_DAY, measure, 0, whole))
    for table, batch in ((rollup, rows), (day_table, day_rows)):
        for start in range(0, len(batch), 5000):
            conn.execute(table.insert(), batch[start : start + 5000])
    return len(rows) + len(day_rows)


def _day_row(day: date, hour: int, measure: str, count: int, data: bytes) -> dict[str, Any]:
    return {"day": day, "hour": hour, "measure": measure, "count": count, "data": data}


def first_full_day(since: datetime) -> date:
    """The first UTC day that starts at or after ``since``."""
    day = day_of(since)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return day if start >= since else day + timedelta(days=1)
