"""SLA (% met, breaches per severity, counted in SQL) and business-hours tables."""

from __future__ import annotations

from datetime import timedelta

from handlers.config_metrics import BusinessHoursConfig, SlaConfig
from handlers.durations import format_duration
from handlers.metrics_hours import business_seconds
from handlers.percentiles import nearest_rank
from handlers.replies import Table
from storage.metrics_cycles import CycleRow
from storage.metrics_sla import SlaCount


def sla_targets(sla: SlaConfig) -> dict[tuple[str, str], timedelta]:
    """``(severity, measure) -> target`` for every target configured in ``[sla]``."""
    return {
        (severity, measure): limit
        for severity, target in sla.targets().items()
        for measure in ("first_response", "resolution")
        if (limit := getattr(target, measure)) is not None
    }


def sla_table(
    targets: dict[tuple[str, str], timedelta], counts: dict[tuple[str, str], SlaCount]
) -> Table | None:
    """Per severity and target: cycles measured (met or breached), % met, breaches.

    Calendar time; a cycle not done yet counts once it is past its target (see
    :func:`storage.metrics_sla.sla_counts`, which also says how ``@name`` is credited).
    """
    if not targets:
        return None
    out: list[tuple[str, ...]] = []
    for (severity, measure), limit in targets.items():
        count = counts.get((severity, measure), SlaCount())
        decided = count.met + count.breached
        pct = f"{100 * count.met / decided:.0f}%" if decided else "-"
        out.append(
            (
                severity,
                measure.replace("_", " "),
                format_duration(limit.total_seconds()),
                str(decided),
                pct,
                str(count.breached),
            )
        )
    return Table(
        title="SLA",
        columns=("severity", "target", "within", "measured", "met", "breaches"),
        rows=tuple(out),
    )


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
