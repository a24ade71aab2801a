"""SLA counts in SQL: per severity and measure, cycles that met the target and cycles that
breached it (done too late, or not done and already past it), in one scan of the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text

from storage.types import UTCDateTime

# measure -> (duration column, who is credited when done, when it was done)
MEASURES = {
    "first_response": ("first_response_s", "first_response_by", "first_response_at"),
    "resolution": ("resolution_s", "resolved_by", "resolved_at"),
}


@dataclass(frozen=True, slots=True)
class SlaCount:
    """Cycles of one severity measured against one target."""

    met: int = 0
    breached: int = 0


def sla_counts(
    conn: Connection,
    since: datetime,
    now: datetime,
    targets: dict[tuple[str, str], timedelta],
    team: str | None = None,
    source: str | None = None,
    staff_id: int | None = None,
) -> dict[tuple[str, str], SlaCount]:
    """Met and breached cycles received since ``since`` for each ``(severity, measure)``
    target. With ``staff_id``, a step counts for the person who did it, or, while it is
    not done, for whoever holds the claim."""
    if not targets:
        return {}
    params: dict[str, Any] = {"since": since}
    binds = [bindparam("since", type_=UTCDateTime())]
    columns: list[str] = []
    for i, ((severity, measure), limit) in enumerate(targets.items()):
        duration, by, done_at = MEASURES[measure]
        params[f"sev{i}"] = severity
        params[f"lim{i}"] = limit.total_seconds()
        params[f"due{i}"] = now - limit
        binds.append(bindparam(f"due{i}", type_=UTCDateTime()))
        mine = f"c.severity = :sev{i}"
        if staff_id is not None:
            mine += (
                f" AND ((c.{done_at} IS NOT NULL AND c.{by} = :staff)"
                f" OR (c.{done_at} IS NULL AND c.claimed_by = :staff))"
            )
        columns.append(f"SUM(CASE WHEN {mine} AND c.{duration} <= :lim{i} THEN 1 ELSE 0 END)")
        columns.append(
            f"SUM(CASE WHEN {mine} AND (c.{duration} > :lim{i} OR"
            f" (c.{duration} IS NULL AND c.received_at < :due{i})) THEN 1 ELSE 0 END)"
        )
    clauses = ["c.received_at >= :since"]
    if team is not None:
        clauses.append("c.team = :team")
        params["team"] = team
    if source is not None:
        clauses.append("c.source = :source")
        params["source"] = source
    if staff_id is not None:
        params["staff"] = staff_id
    stmt = text(
        f"SELECT {', '.join(columns)} FROM cycle c WHERE {' AND '.join(clauses)}"
    ).bindparams(*binds)
    row = conn.execute(stmt, params).one()
    return {
        key: SlaCount(int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
        for i, key in enumerate(targets)
    }
