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


def sla_table(rows: list[CycleRow], sla: SlaConfig, now: datetime) -> Table | None:
    """Per severity and target: cycles measured, % met, breaches."""
    targets = sla.targets()
    if not targets:
        return None
    out: list[tuple[str, ...]] = []
    for severity, target in targets.items():
        mine = [r for r in rows if r.severity == severity]
        for name, limit, attr in (
            ("first response", target.first_response, "first_response_s"),
            ("resolution", target.resolution, "resolution_s"),
        ):
            if limit is None:
                continue
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
                    name,
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


def business_table(rows: list[CycleRow], hours: BusinessHoursConfig) -> Table:
    """Claim, first response and resolution counted in business hours only."""
    measures = (
        ("time to claim", "alerted_at", "claimed_at"),
        ("first response", "received_at", "first_response_at"),
        ("resolution", "received_at", "resolved_at"),
    )
    out: list[tuple[str, ...]] = []
    for name, start_attr, end_attr in measures:
        values = [
            business_seconds(getattr(r, start_attr) or r.received_at, end, hours)
            for r in rows
            if (end := getattr(r, end_attr)) is not None
            and (end_attr != "claimed_at" or r.claimed_by is not None)
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
        title=f"Business hours ({hours.timezone}, {hours.start}-{hours.end})",
        columns=("measure", "count", "median", "p90", "average"),
        rows=tuple(out),
    )
