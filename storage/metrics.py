"""Metrics SQL over conversation cycles (definitions: README "Metrics, defined").

Percentiles are nearest-rank (the value at rank ceil(p * n)), computed with window
functions that SQLite and PostgreSQL both run; the duration columns are filled in
when handling events are recorded, so no date arithmetic happens here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from storage import metrics_rollup, rollups
from storage.metrics_report import (
    DURATIONS,
    STAFF_COLUMN,
    Distribution,
    MetricsReport,
    StaffFigures,
    run_query,
)

FAST_FROM = 20_000  # cycles in the period from which rollups answer


def _filters(team: str | None, source: str | None) -> tuple[str, dict[str, Any]]:
    clauses = ["c.received_at >= :since"]
    params: dict[str, Any] = {}
    if team is not None:
        clauses.append("c.team = :team")
        params["team"] = team
    if source is not None:
        clauses.append("c.source = :source")
        params["source"] = source
    return " AND ".join(clauses), params


def compute(
    conn: Connection,
    since: datetime,
    team: str | None = None,
    source: str | None = None,
    fast: bool | None = None,
) -> MetricsReport:
    """All figures for cycles received since ``since`` (optionally one team or source).

    Small periods are computed exactly from the rows; large unfiltered ones (by the
    rollups' cycle counters, from the first day touched) from the rollups (exact counts,
    percentiles within 0.4%). ``fast`` forces one or the other.
    """
    if fast is None:
        fast = (
            team is None
            and source is None
            and metrics_rollup.cycles_from(conn, rollups.day_of(since)) >= FAST_FROM
        )
    if fast and team is None and source is None:
        return metrics_rollup.compute(conn, since)
    return compute_raw(conn, since, team=team, source=source)


def compute_raw(
    conn: Connection, since: datetime, team: str | None = None, source: str | None = None
) -> MetricsReport:
    """The exact figures, straight from cycles and handling events (also the benchmark's
    GROUP BY baseline)."""
    where, params = _filters(team, source)
    report = MetricsReport(since=since)
    totals = run_query(
        conn,
        "SELECT COUNT(DISTINCT c.conversation_id), COUNT(*), COUNT(c.resolved_at) "
        f"FROM cycle c WHERE {where}",
        since,
        params,
    )[0]
    report.conversations, report.cycles, report.resolved = (int(x or 0) for x in totals)
    report.open_now = report.cycles - report.resolved
    for column, attr in zip(
        DURATIONS, ("time_to_claim", "first_response", "resolution"), strict=True
    ):
        overall = _distributions(conn, column, None, where, since, params)
        setattr(report, attr, overall.get(None, Distribution()))
        per_staff = _distributions(conn, column, STAFF_COLUMN[column], where, since, params)
        for staff_id, dist in per_staff.items():
            if staff_id is None:
                continue
            figures = report.staff.setdefault(staff_id, StaffFigures(staff_id))
            if column == "claim_s":
                figures.claims = dist
            elif column == "first_response_s":
                figures.first_responses = dist
            else:
                figures.resolutions = dist
    for staff_id, handled in run_query(
        conn,
        f"SELECT actor_id, COUNT(*) FROM (SELECT DISTINCT h.actor_id, h.conversation_id, h.cycle"
        f" FROM handling_event h JOIN cycle c ON c.conversation_id = h.conversation_id"
        f" AND c.n = h.cycle WHERE {where} AND h.actor_id IS NOT NULL) handled GROUP BY actor_id",
        since,
        params,
    ):
        report.staff.setdefault(staff_id, StaffFigures(staff_id)).handled = int(handled)
    return report


def _distributions(
    conn: Connection,
    column: str,
    group: str | None,
    where: str,
    since: datetime,
    params: dict[str, Any],
) -> dict[int | None, Distribution]:
    """Per group (or overall when ``group`` is None): count, average, median and p90."""
    key = f"c.{group}" if group else "NULL"
    partition = f"PARTITION BY c.{group} " if group else ""
    rows = run_query(
        conn,
        f"SELECT g, n, total, rn, d FROM ("
        f" SELECT {key} AS g, c.{column} AS d,"
        f" ROW_NUMBER() OVER ({partition}ORDER BY c.{column}) AS rn,"
        f" COUNT(*) OVER ({partition.strip()}) AS n,"
        f" SUM(c.{column}) OVER ({partition.strip()}) AS total"
        f" FROM cycle c WHERE {where} AND c.{column} IS NOT NULL"
        f") ranked WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 90 + 99) / 100",
        since,
        params,
    )
    found: dict[int | None, dict[str, Any]] = {}
    for g, n, total, rn, d in rows:
        entry = found.setdefault(g, {"n": int(n), "avg": float(total) / int(n)})
        if rn == (n * 50 + 99) // 100:
            entry["median"] = float(d)
        if rn == (n * 90 + 99) // 100:
            entry["p90"] = float(d)
    return {
        g: Distribution(e["n"], e["avg"], e.get("median"), e.get("p90")) for g, e in found.items()
    }
