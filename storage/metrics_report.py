"""What a metrics computation returns (:class:`MetricsReport`) and the pieces the exact
(:mod:`storage.metrics`) and rollup (:mod:`storage.metrics_rollup`) paths share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from storage.types import UTCDateTime

DURATIONS = ("claim_s", "first_response_s", "resolution_s")
STAFF_COLUMN = {
    "claim_s": "claimed_by",
    "first_response_s": "first_response_by",
    "resolution_s": "resolved_by",
}


@dataclass(frozen=True, slots=True)
class Distribution:
    """Count, average, median and p90 of one duration, in seconds."""

    count: int = 0
    average: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass(slots=True)
class StaffFigures:
    """What one staff member did in the period."""

    staff_id: int
    handled: int = 0
    claims: Distribution = field(default_factory=Distribution)
    first_responses: Distribution = field(default_factory=Distribution)
    resolutions: Distribution = field(default_factory=Distribution)


@dataclass(slots=True)
class MetricsReport:
    """Figures for conversations received since ``since``."""

    since: datetime
    conversations: int = 0
    cycles: int = 0
    resolved: int = 0
    open_now: int = 0
    time_to_claim: Distribution = field(default_factory=Distribution)
    first_response: Distribution = field(default_factory=Distribution)
    resolution: Distribution = field(default_factory=Distribution)
    staff: dict[int, StaffFigures] = field(default_factory=dict)


def run_query(conn: Connection, sql: str, since: datetime, params: dict[str, Any]) -> list[Any]:
    """Rows of ``sql`` with ``:since`` bound as a UTC timestamp and ``params``."""
    stmt = text(sql).bindparams(bindparam("since", type_=UTCDateTime()))
    return list(conn.execute(stmt, {"since": since, **params}))
