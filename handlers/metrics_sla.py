"""SLA (% met, breaches per severity) and business-hours tables, from cycle rows."""

from __future__ import annotations

import math
from datetime import datetime

from handlers.config_metrics import BusinessHoursConfig, SlaConfig
from handlers.durations import format_duration
from handlers.metrics_hours import business_seconds
from handlers.replies import Table
from storage.metrics_cycles import CycleRow


def _verdict(done: float | None, waited: float, target: float) -> str:
    """met | breached | pending (not done yet, still inside the target)."""
    if done is not None:
        return "met" if done <= target else "breached"
    return "breached" if waited > target else "pending"


# (measure = SlaTarget attribute, duration, who is credited when done, when it was done)
_SLA_MEASURES = (
    ("first_response", "first_response_s", "first_response_by", "first_response_at"),
    ("resolution", "resolution_s", "resolved_by", "resolved_at"),
)


def _credited(row: CycleRow, by_attr: str, at_attr: str, staff_id: int) -> bool:
    """The step is the person's: they did it, or it is not done and they hold the claim."""
    if getattr(row, at_attr) is not None:
        return bool(getattr(row, by_attr) == staff_id)
    return row.claimed_by == staff_id


def sla_table(
    rows: list[CycleRow], sla: SlaConfig, now: datetime, staff_id: int | None = None
) -> Table | None:
    """Per severity and target: cycles measured, % met, breaches (calendar time).

    With ``staff_id``, only the steps credited to that person count (see :func:`_credited`).
    """
    targets = sla.targets()
    if not targets:
        return None
    out: list[tuple[str, ...]] = []
    for severity, target in targets.items():
        same = [r for r in rows if r.severity == severity]
        for measure, attr, by_attr, at_attr in _SLA_MEASURES:
            limit = getattr(target, measure)
            if limit is None:
                continue
            mine = [r for r in same if staff_id is None or _credited(r, by_attr, at_attr, staff_id)]
            verdicts = [
                _verdict(
                    getattr(r, attr), (now - r.received_at).total_seconds(), limit.total_seconds()
                )
                for r in mine
            ]
            met, breached = verdicts.count("met"), verdicts.count("breached")
            decided = met + breached
            pct = f"{100 * met / decided:.0f}%" if decided else "-"
            out.append(
                (
                    severity,
                    measure.replace("_", " "),
                    format_duration(limit.total_seconds()),
                    str(decided),
                    pct,
                    str(breached),
                )
            )
    return Table(
        title="SLA",
        columns=("severity", "target", "within", "measured", "met", "breaches"),
        rows=tuple(out),
    )


def nearest_rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered) - 1e-9)) - 1]


def business_table(
    rows: list[CycleRow], hours: BusinessHoursConfig, staff_id: int | None = None
) -> Table:
    """Claim, first response and resolution counted in business hours only; with
    ``staff_id``, only the claims, first replies and resolutions that person made."""
    measures = (
        ("time to claim", "alerted_at", "claimed_at", "claimed_by"),
        ("first response", "received_at", "first_response_at", "first_response_by"),
        ("resolution", "received_at", "resolved_at", "resolved_by"),
    )
    out: list[tuple[str, ...]] = []
    for name, start_attr, end_attr, by_attr in measures:
        values = [
            business_seconds(getattr(r, start_attr) or r.received_at, end, hours)
            for r in rows
            if (end := getattr(r, end_attr)) is not None
            and (end_attr != "claimed_at" or r.claimed_by is not None)
            and (staff_id is None or getattr(r, by_attr) == staff_id)
        ]
        average = sum(values) / len(values) if values else None
        out.append(
            (
                name,
                str(len(values)),
                format_duration(nearest_rank(values, 0.5)),
                format_duration(nearest_rank(values, 0.9)),
                format_duration(average),
            )
        )
    return Table(
        title=f"Business hours ({hours.describe()})",
        columns=("measure", "count", "median", "p90", "average"),
        rows=tuple(out),
    )
