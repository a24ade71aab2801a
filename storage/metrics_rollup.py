"""The fast path of :func:`storage.metrics.compute`: whole days from ``metric_day`` (about
six rows a day, every staff member in each), the partial first day from its hour rows and
the cycle rows before its first whole hour, counts from two small indexes; five queries,
and every group's sketches merged in one numpy histogram per measure
(:mod:`storage.rollup_packed`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text

from storage import rollup_packed, rollups
from storage.metrics_report import (
    DURATIONS,
    STAFF_COLUMN,
    Distribution,
    MetricsReport,
    StaffFigures,
    run_query,
)
from storage.rollup_packed import Packed
from storage.rollup_sketch import key_of
from storage.types import UTCDateTime

ATTR = {"claim": "time_to_claim", "first_response": "first_response", "resolution": "resolution"}
STAFF_ATTR = {"claim": "claims", "first_response": "first_responses", "resolution": "resolutions"}
COUNTERS = ("cycles", "conversations")


def compute(conn: Connection, since: datetime) -> MetricsReport:
    """Every figure of :func:`storage.metrics.compute_raw` for cycles received since ``since``."""
    report = MetricsReport(since=since)
    first_day = rollups.first_full_day(since)
    midnight = datetime.combine(first_day, time(0), tzinfo=UTC)
    hour_start = min(_next_hour(since), midnight)  # the partial day's hour rows start here
    parts: dict[str, list[Packed]] = defaultdict(list)
    counters = dict.fromkeys(COUNTERS, 0)
    rows = _day_rows(
        conn,
        {
            "whole": rollups.WHOLE_DAY,
            "day": first_day,
            "edge_day": rollups.day_of(since),
            "edge_hour": hour_start.hour if hour_start < midnight else 24,
        },
    )
    for measure, count, data in rows:
        if measure in counters:
            counters[measure] += count
        elif data:
            parts[measure].append(rollup_packed.decode(bytes(data)))
    edge_cycles, edge_new = _edge_counts(conn, since, midnight)
    _add_edge(conn, since, hour_start, parts)
    reopened_from_before = run_query(
        conn,
        "SELECT COUNT(*) FROM cycle c WHERE c.n > 1 AND c.received_at >= :since"
        " AND c.previous_received_at < :since",
        since,
        {},
    )[0][0]
    report.cycles = counters["cycles"] + edge_cycles
    report.conversations = counters["conversations"] + edge_new + int(reopened_from_before or 0)
    for measure in rollups.SKETCHED.values():
        for staff_id, got in rollup_packed.figures(parts[measure], (0.5, 0.9)).items():
            dist = Distribution(got.count, got.total / got.count, *got.quantiles)
            if staff_id == rollups.EVERYONE:
                setattr(report, ATTR[measure], dist)
            else:
                figures = report.staff.setdefault(staff_id, StaffFigures(staff_id))
                setattr(figures, STAFF_ATTR[measure], dist)
    report.resolved = report.resolution.count
    report.open_now = report.cycles - report.resolved
    for staff_id, got in rollup_packed.figures(parts["handled"], ()).items():
        report.staff.setdefault(staff_id, StaffFigures(staff_id)).handled = got.count
    return report


_DAY_ROWS = (
    "SELECT measure, count, data FROM metric_day WHERE (hour = {whole} AND day >= {day})"
    " OR (day = {edge_day} AND hour >= {edge_hour})"
)


def _day_rows(conn: Connection, params: dict[str, Any]) -> Sequence[Any]:
    """The ``metric_day`` rows of the period. On PostgreSQL in psycopg's binary format:
    the ~2.5 MB of sketches of 30 days at 1M conversations otherwise arrive as hex text,
    which took longer to parse (~9 ms) than the whole rest of the query (~3 ms)."""
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg" and raw:
        sql = _DAY_ROWS.format(**{name: f"%({name})s" for name in params})
        with raw.cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            found: list[Any] = cursor.fetchall()
            return found
    sql = _DAY_ROWS.format(**{name: f":{name}" for name in params})
    return conn.execute(text(sql), params).all()


def _next_hour(when: datetime) -> datetime:
    """The first whole hour (UTC) that starts at or after ``when``."""
    start = when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start if start >= when else start + timedelta(hours=1)


def _edge_counts(conn: Connection, since: datetime, until: datetime) -> tuple[int, int]:
    """Cycles received in [since, until), and how many were first cycles (an index-only
    count: the day counters cover whole days only)."""
    if until <= since:
        return 0, 0
    found = _between(
        conn,
        "SELECT COUNT(*), SUM(CASE WHEN c.n = 1 THEN 1 ELSE 0 END) FROM cycle c"
        " WHERE c.received_at >= :since AND c.received_at < :until",
        since,
        until,
    )[0]
    return int(found[0] or 0), int(found[1] or 0)


def cycles_from(conn: Connection, day: date) -> int:
    """Cycles received on ``day`` and after, by the rollup counters (one small read)."""
    found = conn.execute(
        text("SELECT SUM(count) FROM metric_day WHERE day >= :day AND measure = 'cycles'"),
        {"day": day},
    ).scalar()
    return int(found or 0)


def _add_edge(
    conn: Connection, since: datetime, until: datetime, parts: dict[str, list[Packed]]
) -> None:
    """Cycles received before the first whole hour of the period, read from the rows."""
    if until <= since:
        return
    columns = ", ".join(f"c.{d}, c.{STAFF_COLUMN[d]}" for d in DURATIONS)
    rows = _between(
        conn,
        f"SELECT {columns} FROM cycle c WHERE c.received_at >= :since AND c.received_at < :until",
        since,
        until,
    )
    for i, measure in enumerate(rollups.SKETCHED.values()):
        owners: list[int] = []
        values: list[float] = []
        keys: list[int] = []
        for row in rows:
            value, staff = row[2 * i], row[2 * i + 1]
            if value is None:
                continue
            value, key = float(value), key_of(float(value))
            for owner in (rollups.EVERYONE,) if staff is None else (rollups.EVERYONE, staff):
                owners.append(int(owner))
                values.append(value)
                keys.append(key)
        parts[measure].append(rollup_packed.observations(owners, values, keys))
    handled = _between(
        conn,
        "SELECT actor_id, COUNT(*) FROM (SELECT DISTINCT h.actor_id, h.conversation_id, h.cycle"
        " FROM handling_event h JOIN cycle c ON c.conversation_id = h.conversation_id"
        " AND c.n = h.cycle WHERE c.received_at >= :since AND c.received_at < :until"
        " AND h.actor_id IS NOT NULL) handled GROUP BY actor_id",
        since,
        until,
    )
    parts["handled"].append(
        rollup_packed.counted([int(r[0]) for r in handled], [int(r[1]) for r in handled])
    )


def _between(conn: Connection, sql: str, since: datetime, until: datetime) -> Sequence[Any]:
    stmt = text(sql).bindparams(
        bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
    )
    return conn.execute(stmt, {"since": since, "until": until}).all()
