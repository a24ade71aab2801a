"""Metric rollups kept current as handling events are recorded (README "Metrics, defined").

One row per received day x team x source x severity (``staff_id = 0``), one per day for
all of them together (team/source/severity ``"*"``), and one per received day x staff
(team/source/severity ``""``) for each measure: ``claim``,
``first_response``, ``resolution`` (count, sum and a mergeable sketch of the durations)
and ``handled`` (staff rows only: conversation cycles the person acted on). Rows are
keyed by the day the *cycle was received*, so a query over "cycles received since X"
merges whole days from here and reads only the partial first day from ``cycle``.

Sketches use ddsketch's logarithmic key mapping (0.4% relative accuracy, so a reported
percentile is within 0.4% of the exact one); a sketch is
stored as two little int32 arrays (bucket keys, counts) so merging thousands of them is
one numpy operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from ddsketch.mapping import LogarithmicMapping
from sqlalchemy import Connection, Index, LargeBinary, UniqueConstraint, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col

from storage.models import Cycle, HandlingEvent

RELATIVE_ACCURACY = 0.004  # changing it needs a migration that rebuilds (see 0010)
MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
ZERO_KEY = -(2**31)
ALL = "*"  # team/source/severity of the per-day total rows (staff_id 0)
SKETCHED = {"claim_s": "claim", "first_response_s": "first_response", "resolution_s": "resolution"}
CREDIT = {"claim": "claimed_by", "first_response": "first_response_by", "resolution": "resolved_by"}


class MetricRollup(SQLModel, table=True):
    """Count, sum and sketch of one measure for one day and key (see the module doc)."""

    __tablename__ = "metric_rollup"
    __table_args__ = (
        UniqueConstraint("day", "staff_id", "team", "source", "severity", "measure"),
        Index("ix_metric_rollup_day_staff", "day", "staff_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    staff_id: int = 0
    team: str = ""
    source: str = ""
    severity: str = ""
    measure: str
    count: int = 0
    total: float = 0.0
    sketch: bytes = Field(default=b"", sa_type=LargeBinary())


# Reopened cycles are few: this partial index lets distinct-conversation counts find them
# without reading every cycle of the period.
Index(
    "ix_cycle_reopened",
    Cycle.received_at,  # type: ignore[arg-type]
    Cycle.previous_received_at,  # type: ignore[arg-type]
    sqlite_where=text("n > 1"),
    postgresql_where=text("n > 1"),
)
# Counting the cycles of a period (and the new conversations among them) reads only this.
Index("ix_cycle_received_n", Cycle.received_at, Cycle.n)  # type: ignore[arg-type]


# -- sketches ---------------------------------------------------------------------------


def key_of(value: float) -> int:
    """The sketch bucket of a duration (0 and below share one bucket)."""
    return ZERO_KEY if value <= 0 else int(MAPPING.key(value))


def value_of(key: int) -> float:
    return 0.0 if key == ZERO_KEY else float(MAPPING.value(key))


def encode(keys: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> bytes:
    return keys.astype("<i4").tobytes() + counts.astype("<i4").tobytes()


def decode(blob: bytes) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    arr = np.frombuffer(blob, dtype="<i4")
    half = len(arr) // 2
    return arr[:half], arr[half:]


def merge(parts: Sequence[bytes], extra_keys: Iterable[int] = ()) -> bytes:
    """One sketch holding every part (and the extra bucket keys, one count each)."""
    keys = [decode(b)[0] for b in parts if b]
    counts = [decode(b)[1] for b in parts if b]
    extra = np.fromiter(extra_keys, dtype=np.int64)
    if len(extra):
        keys.append(extra)
        counts.append(np.ones(len(extra), dtype=np.int64))
    if not keys:
        return b""
    all_keys = np.concatenate(keys).astype(np.int64)
    all_counts = np.concatenate(counts).astype(np.int64)
    uniq, inverse = np.unique(all_keys, return_inverse=True)
    return encode(uniq, np.bincount(inverse, weights=all_counts).astype(np.int64))


def quantiles(blob: bytes, ps: Sequence[float]) -> list[float | None]:
    """Nearest-rank quantiles (the value at rank ceil(p*n)), within 1% relative error."""
    if not blob:
        return [None for _ in ps]
    keys, counts = decode(blob)
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    out: list[float | None] = []
    for p in ps:
        rank = max(1, math.ceil(p * n - 1e-9))
        out.append(value_of(int(keys[int(np.searchsorted(cumulative, rank))])))
    return out


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
    total = {**group, "team": ALL, "source": ALL, "severity": ALL}
    after = (cycle.claim_s, cycle.first_response_s, cycle.resolution_s)
    for measure, old, new in zip(SKETCHED.values(), before, after, strict=True):
        if old is None and new is not None:
            _bump(session, group, measure, new)
            _bump(session, total, measure, new)
            staff = getattr(cycle, CREDIT[measure])
            if staff is not None:
                _bump(session, _staff_key(day, staff), measure, new)
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
            _bump(session, _staff_key(day, event.actor_id), "handled", None)


def count_cycles(conn: Connection | Session, day: date, cycles: int, conversations: int) -> None:
    """Add new cycles (and how many of them are new conversations) to the day's totals:
    ingest, reopens and spike alerts call this in the transaction that creates them."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    for measure, n in (("cycles", cycles), ("conversations", conversations)):
        if not n:
            continue
        key = {"day": day, "staff_id": 0, "team": ALL, "source": ALL, "severity": ALL}
        stmt = insert(table).values(**key, measure=measure, count=n, total=0.0, sketch=b"")
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    table.c.day,
                    table.c.staff_id,
                    table.c.team,
                    table.c.source,
                    table.c.severity,
                    table.c.measure,
                ],
                set_={"count": table.c.count + n},
            )
        )


def _staff_key(day: date, staff_id: int) -> dict[str, Any]:
    return {"day": day, "staff_id": staff_id, "team": "", "source": "", "severity": ""}


# -- rebuild ------------------------------------------------------------------------------


@dataclass
class _Acc:
    count: int = 0
    total: float = 0.0
    keys: list[int] | None = None


def rebuild(conn: Connection) -> int:
    """Recompute every rollup row from cycles and handling events; returns rows written."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    acc: dict[tuple[Any, ...], _Acc] = {}

    def add(key: tuple[Any, ...], value: float | None) -> None:
        entry = acc.setdefault(key, _Acc(keys=[]))
        entry.count += 1
        if value is not None and entry.keys is not None:
            entry.total += value
            entry.keys.append(key_of(value))

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
        day = day_of(received)
        add((day, 0, ALL, ALL, ALL, "cycles"), None)
        if row[10] == 1:
            add((day, 0, ALL, ALL, ALL, "conversations"), None)
        group = (day, 0, row[1] or "", row[2], row[3])
        for measure, (value, staff) in zip(
            SKETCHED.values(), ((row[4], row[5]), (row[6], row[7]), (row[8], row[9])), strict=True
        ):
            if value is None:
                continue
            add((*group, measure), float(value))
            add((day, 0, ALL, ALL, ALL, measure), float(value))
            if staff is not None:
                add((day, int(staff), "", "", "", measure), float(value))
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
        add((day_of(received), int(row[1]), "", "", "", "handled"), None)
    conn.execute(table.delete())
    rows = []
    for (day, staff, team, source, severity, measure), entry in acc.items():
        sketch = merge([], entry.keys or []) if measure in SKETCHED.values() else b""
        rows.append(
            {
                "day": day,
                "staff_id": staff,
                "team": team,
                "source": source,
                "severity": severity,
                "measure": measure,
                "count": entry.count,
                "total": entry.total,
                "sketch": sketch,
            }
        )
    for start in range(0, len(rows), 5000):
        conn.execute(table.insert(), rows[start : start + 5000])
    return len(rows)


def first_full_day(since: datetime) -> date:
    """The first UTC day that starts at or after ``since``."""
    day = day_of(since)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return day if start >= since else day + timedelta(days=1)
