"""The fast path of :func:`storage.metrics.compute`: whole days from ``metric_rollup``,
the partial first day from ``cycle`` rows, counts from two small indexes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Connection, bindparam, text

from storage import rollups
from storage.metrics_report import (
    DURATIONS,
    STAFF_COLUMN,
    Distribution,
    MetricsReport,
    StaffFigures,
    run_query,
)
from storage.types import UTCDateTime

ATTR = {"claim": "time_to_claim", "first_response": "first_response", "resolution": "resolution"}
STAFF_ATTR = {"claim": "claims", "first_response": "first_responses", "resolution": "resolutions"}


class _Group:
    __slots__ = ("count", "keys", "sketches", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.sketches: list[bytes] = []
        self.keys: list[int] = []

    def distribution(self) -> Distribution:
        if self.count == 0:
            return Distribution()
        median, p90 = rollups.quantiles(rollups.merge(self.sketches, self.keys), (0.5, 0.9))
        return Distribution(self.count, self.total / self.count, median, p90)


def compute(conn: Connection, since: datetime) -> MetricsReport:
    """Every figure of :func:`storage.metrics.compute_raw` for cycles received since ``since``."""
    report = MetricsReport(since=since)
    first_day = rollups.first_full_day(since)
    edge_end = datetime.combine(first_day, time(0), tzinfo=UTC)
    groups: dict[tuple[int, str], _Group] = defaultdict(_Group)
    handled: dict[int, int] = defaultdict(int)
    rows = conn.execute(
        text(
            "SELECT staff_id, measure, count, total, sketch FROM metric_rollup"
            " WHERE day >= :day AND (staff_id <> 0 OR team = :all)"
        ),
        {"day": first_day, "all": rollups.ALL},
    )
    totals = {"cycles": 0, "conversations": 0}
    for staff_id, measure, count, total, sketch in rows:
        if measure == "handled":
            handled[staff_id] += count
            continue
        if measure in totals:
            totals[measure] += count
            continue
        group = groups[(staff_id, measure)]
        group.count += count
        group.total += total
        group.sketches.append(bytes(sketch))
    if edge_end > since:
        _add_edge(conn, since, edge_end, groups, handled)
    edge_counts = _between(
        conn,
        "SELECT COUNT(*), SUM(CASE WHEN c.n = 1 THEN 1 ELSE 0 END) FROM cycle c"
        " WHERE c.received_at >= :since AND c.received_at < :until",
        since,
        max(since, edge_end),
    )[0]
    reopened_from_before = run_query(
        conn,
        "SELECT COUNT(*) FROM cycle c WHERE c.n > 1 AND c.received_at >= :since"
        " AND c.previous_received_at < :since",
        since,
        {},
    )[0][0]
    report.cycles = totals["cycles"] + int(edge_counts[0] or 0)
    report.conversations = (
        totals["conversations"] + int(edge_counts[1] or 0) + int(reopened_from_before or 0)
    )
    report.resolved = groups[(0, "resolution")].count if (0, "resolution") in groups else 0
    report.open_now = report.cycles - report.resolved
    for (staff_id, measure), group in groups.items():
        dist = group.distribution()
        if staff_id == 0:
            setattr(report, ATTR[measure], dist)
        else:
            figures = report.staff.setdefault(staff_id, StaffFigures(staff_id))
            setattr(figures, STAFF_ATTR[measure], dist)
    for staff_id, count in handled.items():
        report.staff.setdefault(staff_id, StaffFigures(staff_id)).handled = count
    return report


def _add_edge(
    conn: Connection,
    since: datetime,
    until: datetime,
    groups: dict[tuple[int, str], _Group],
    handled: dict[int, int],
) -> None:
    """Cycles received in the partial first day, read from the rows."""
    columns = ", ".join(f"c.{d}, c.{STAFF_COLUMN[d]}" for d in DURATIONS)
    stmt_rows = _between(
        conn,
        f"SELECT {columns} FROM cycle c WHERE c.received_at >= :since AND c.received_at < :until",
        since,
        until,
    )
    for row in stmt_rows:
        for i, measure in enumerate(rollups.SKETCHED.values()):
            value, staff = row[2 * i], row[2 * i + 1]
            if value is None:
                continue
            key = rollups.key_of(float(value))
            for gid in (0, staff) if staff is not None else (0,):
                group = groups[(int(gid), measure)]
                group.count += 1
                group.total += float(value)
                group.keys.append(key)
    for actor_id, count in _between(
        conn,
        "SELECT actor_id, COUNT(*) FROM (SELECT DISTINCT h.actor_id, h.conversation_id, h.cycle"
        " FROM handling_event h JOIN cycle c ON c.conversation_id = h.conversation_id"
        " AND c.n = h.cycle WHERE c.received_at >= :since AND c.received_at < :until"
        " AND h.actor_id IS NOT NULL) handled GROUP BY actor_id",
        since,
        until,
    ):
        handled[int(actor_id)] += int(count)


def _between(conn: Connection, sql: str, since: datetime, until: datetime) -> list[Any]:
    stmt = text(sql).bindparams(
        bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime())
    )
    return list(conn.execute(stmt, {"since": since, "until": until}))
