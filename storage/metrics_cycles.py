"""Per-cycle rows for exports, business-hours figures, SLA and charts (exact, from rows)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, bindparam, text

from storage.types import UTCDateTime


@dataclass(slots=True)
class CycleRow:
    """One conversation cycle with every time and who handled it."""

    conversation_id: int
    n: int
    source: str
    severity: str
    team: str | None
    received_at: datetime
    alerted_at: datetime | None
    claimed_at: datetime | None
    claimed_by: int | None
    first_response_at: datetime | None
    first_response_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    claim_s: float | None
    first_response_s: float | None
    resolution_s: float | None
    sentiment: float = 0.0
    author_id: int | None = None
    handled_by: set[int] = field(default_factory=set)


_COLUMNS = (
    "c.conversation_id, c.n, c.source, c.severity, c.team, c.received_at, c.alerted_at,"
    " c.claimed_at, c.claimed_by, c.first_response_at, c.first_response_by, c.resolved_at,"
    " c.resolved_by, c.claim_s, c.first_response_s, c.resolution_s, v.sentiment, v.author_id"
)
_TIMES = ("received_at", "alerted_at", "claimed_at", "first_response_at", "resolved_at")


def cycles_since(
    conn: Connection,
    since: datetime,
    team: str | None = None,
    source: str | None = None,
    staff_id: int | None = None,
) -> list[CycleRow]:
    """Cycles received since ``since``, oldest first, with everyone who acted on each;
    with ``staff_id``, only the cycles that person acted on (filtered in SQL)."""
    clauses = ["c.received_at >= :since"]
    params: dict[str, Any] = {"since": since}
    if team is not None:
        clauses.append("c.team = :team")
        params["team"] = team
    if source is not None:
        clauses.append("c.source = :source")
        params["source"] = source
    if staff_id is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM handling_event s WHERE s.conversation_id = c.conversation_id"
            " AND s.cycle = c.n AND s.actor_id = :staff)"
        )
        params["staff"] = staff_id
    where = " AND ".join(clauses)
    time_type = UTCDateTime()
    stmt = text(
        f"SELECT {_COLUMNS} FROM cycle c JOIN conversation v ON v.id = c.conversation_id"
        f" WHERE {where} ORDER BY c.received_at, c.conversation_id, c.n"
    ).bindparams(bindparam("since", type_=time_type))
    process = time_type.result_processor(conn.dialect, None)
    rows: dict[tuple[int, int], CycleRow] = {}
    for raw in conn.execute(stmt, params):
        values = list(raw)
        for i in (5, 6, 7, 9, 11):
            values[i] = process(values[i]) if process and values[i] is not None else values[i]
        row = CycleRow(*values)
        rows[(row.conversation_id, row.n)] = row
    handled = text(
        "SELECT DISTINCT h.conversation_id, h.cycle, h.actor_id FROM handling_event h"
        " JOIN cycle c ON c.conversation_id = h.conversation_id AND c.n = h.cycle"
        f" WHERE {where} AND h.actor_id IS NOT NULL"
    ).bindparams(bindparam("since", type_=time_type))
    for conv, n, actor in conn.execute(handled, params):
        if (conv, n) in rows:
            rows[(conv, n)].handled_by.add(int(actor))
    return list(rows.values())


def per_day(rows: list[CycleRow], tz: tzinfo = UTC) -> dict[date, list[CycleRow]]:
    """Rows grouped by the day (in ``tz``) they were received."""
    days: dict[date, list[CycleRow]] = defaultdict(list)
    for row in rows:
        days[row.received_at.astimezone(tz).date()].append(row)
    return dict(sorted(days.items()))
