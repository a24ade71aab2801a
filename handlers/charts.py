"""PNG charts for managers (matplotlib, Agg backend, no pyplot state).

One figure, four titled panels: conversations per day with the mean sentiment line, the
first response and the resolution times per day (median and p90) against their SLA
targets, and the load per staff member. The time panels share one date axis and each
shows the dates.
:func:`overview_figure` builds the figure (tests read it); :func:`render_png` renders it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure

from handlers.config_metrics import SlaConfig
from handlers.durations import format_duration
from handlers.percentiles import nearest_rank
from storage.metrics_cycles import CycleRow, per_day

BARS = "#4c78a8"
SENTIMENT = "#e45756"
MEASURES = (
    # (legend name, CycleRow duration attribute, SlaTarget attribute, colour)
    ("first response", "first_response_s", "first_response", "#f58518"),
    ("resolution", "resolution_s", "resolution", "#72b7b2"),
)
RESOLVED = "#54a24b"
OTHER_WORK = "#bab0ac"
MAX_STAFF = 15
SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class Unit:
    """A time unit for an axis: its name and length in seconds."""

    name: str
    seconds: float


MINUTES, HOURS, DAYS = Unit("minutes", 60), Unit("hours", 3600), Unit("days", 86400)


def unit_for(largest_seconds: float) -> Unit:
    """Minutes up to two hours, hours up to two days, days beyond."""
    if largest_seconds < 2 * 3600:
        return MINUTES
    if largest_seconds < 2 * 86400:
        return HOURS
    return DAYS


@dataclass(frozen=True, slots=True)
class SlaLine:
    """One SLA target drawn on the response-time panel."""

    measure: str
    severity: str
    seconds: float

    @property
    def label(self) -> str:
        return f"SLA for {self.severity}: {format_duration(self.seconds)}"


def sla_lines(rows: Sequence[CycleRow], sla: SlaConfig) -> list[SlaLine]:
    """The targets of the severity most of the charted cycles have (ties: the higher one);
    with no cycles of a targeted severity, the highest severity that has targets."""
    targets = sla.targets()
    if not targets:
        return []
    counts = {sev: sum(1 for r in rows if r.severity == sev) for sev in targets}
    severity = max(targets, key=lambda sev: (counts[sev], SEVERITY_RANK[sev]))
    target = targets[severity]
    lines: list[SlaLine] = []
    for name, _attr, target_attr, _colour in MEASURES:
        limit = getattr(target, target_attr)
        if limit is not None:
            lines.append(SlaLine(name, severity, limit.total_seconds()))
    return lines


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0))


def _legend_above(ax: Axes, handles: list[Any] | None = None, ncols: int = 2) -> None:
    """The legend in the panel's title row, right-aligned, clear of the data."""
    kwargs: dict[str, Any] = {"handles": handles} if handles is not None else {}
    ax.legend(
        **kwargs,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=ncols,
        fontsize="small",
        frameon=False,
        borderaxespad=0.2,
    )


def _date_axis(ax: Axes, days: list[date]) -> None:
    """Whole days as ticks, labelled with the date, at most about ten of them."""
    step = max(1, math.ceil(len(days) / 10))
    ax.xaxis.set_major_locator(DayLocator(interval=step))  # type: ignore[no-untyped-call]
    fmt = "%a %d %b" if len(days) <= 8 else "%d %b"
    ax.xaxis.set_major_formatter(DateFormatter(fmt))  # type: ignore[no-untyped-call]
    margin = timedelta(hours=14)
    ax.set_xlim(_midnight(days[0]) - margin, _midnight(days[-1]) + margin)  # type: ignore[arg-type]
    ax.tick_params(axis="x", labelbottom=True, labelrotation=0)
    ax.set_xlabel("day received")
    ax.grid(axis="y", alpha=0.3)


def _volume_panel(ax: Axes, days: list[date], by_day: dict[date, list[CycleRow]]) -> None:
    counts = [len(by_day.get(d, [])) for d in days]
    bars = ax.bar(days, counts, width=0.8, color=BARS, label="conversations (bars)")  # type: ignore[arg-type]
    ax.set_ylabel("conversations")
    ax.set_ylim(0, max([*counts, 1]) * 1.15)
    ax.set_title("Conversations per day and mean sentiment", loc="left")
    twin = ax.twinx()
    means = [
        sum(r.sentiment for r in rows) / len(rows) if (rows := by_day.get(d)) else math.nan
        for d in days
    ]
    (line,) = twin.plot(
        days,  # type: ignore[arg-type]
        means,
        "o-",
        color=SENTIMENT,
        label="mean sentiment (line, right axis)",
    )
    twin.axhline(0, color=SENTIMENT, alpha=0.3, linewidth=0.8, linestyle=":")
    twin.set_ylabel("mean sentiment (-1 to +1)")
    twin.set_ylim(-1.05, 1.05)
    _legend_above(twin, [bars, line])


def _times_panel(
    ax: Axes,
    days: list[date],
    by_day: dict[date, list[CycleRow]],
    measure: tuple[str, str, str, str],
    sla: SlaLine | None,
) -> None:
    """One duration per day received: median and p90, the SLA target as a dashed line."""
    name, attr, _target, colour = measure
    values = [[v for r in by_day.get(d, []) if (v := getattr(r, attr)) is not None] for d in days]
    medians = [nearest_rank(v, 0.5) for v in values]
    p90s = [nearest_rank(v, 0.9) for v in values]
    seen = [m for m in p90s if m is not None]
    unit = unit_for(max([*seen, sla.seconds if sla else 0.0]))

    def scaled(series: list[float | None]) -> list[float]:
        return [v / unit.seconds if v is not None else math.nan for v in series]

    ax.plot(days, scaled(p90s), ".:", color=colour, alpha=0.6, label="p90")  # type: ignore[arg-type]
    ax.plot(days, scaled(medians), "o-", color=colour, label="median")  # type: ignore[arg-type]
    if sla is not None:
        ax.axhline(sla.seconds / unit.seconds, color="#d62728", linestyle="--", label=sla.label)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(unit.name)
    ax.set_title(f"{name.capitalize()} time by day received ({unit.name})", loc="left")
    if not seen:
        ax.text(0.5, 0.5, f"no {name}s in this period", transform=ax.transAxes, ha="center")
    _legend_above(ax, ncols=3)


def staff_load(rows: Sequence[CycleRow], names: dict[int, str]) -> list[tuple[str, int, int]]:
    """(``@name``, cycles handled, cycles resolved) per staff member, busiest first."""
    handled: dict[int, int] = {}
    resolved: dict[int, int] = {}
    for row in rows:
        for staff in row.handled_by:
            handled[staff] = handled.get(staff, 0) + 1
        if row.resolved_by is not None and row.resolved_by in row.handled_by:
            resolved[row.resolved_by] = resolved.get(row.resolved_by, 0) + 1
    who = {staff: "@" + names.get(staff, str(staff)) for staff in handled}
    ordered = sorted(handled, key=lambda s: (-handled[s], who[s]))
    return [(who[s], handled[s], resolved.get(s, 0)) for s in ordered]


def _load_panel(ax: Axes, load: list[tuple[str, int, int]]) -> None:
    shown = load[:MAX_STAFF][::-1]  # barh draws bottom-up: busiest at the top
    title = "Load per staff: conversation cycles handled"
    if len(load) > MAX_STAFF:
        title += f" (busiest {MAX_STAFF} of {len(load)})"
    ax.set_title(title, loc="left")
    ax.set_xlabel("conversation cycles")
    if not shown:
        ax.text(0.5, 0.5, "nobody handled a conversation", transform=ax.transAxes, ha="center")
        ax.set_yticks([])
        return
    people = [p for p, _h, _r in shown]
    done = [r for _p, _h, r in shown]
    other = [h - r for _p, h, r in shown]
    ax.barh(people, done, color=RESOLVED, label="resolved by them")
    bars = ax.barh(people, other, left=done, color=OTHER_WORK, label="other work on it")
    ax.bar_label(bars, labels=[str(h) for _p, h, _r in shown], padding=3)
    ax.set_xlim(0, max(h for _p, h, _r in shown) * 1.12)
    ax.grid(axis="x", alpha=0.3)
    _legend_above(ax)


def overview_figure(
    rows: Sequence[CycleRow],
    names: dict[int, str],
    title: str,
    first: date,
    last: date,
    sla: SlaConfig,
    tz: tzinfo,
) -> Figure:
    """The four panels for cycles received from day ``first`` to ``last`` (in ``tz``)."""
    days = _days(first, last)
    by_day = per_day(list(rows), tz)
    load = staff_load(rows, names)
    staff_height = 0.6 + 0.32 * max(1, min(len(load), MAX_STAFF))
    fig = Figure(figsize=(10, 9.5 + staff_height), dpi=100, layout="constrained")
    grid = fig.add_gridspec(4, 1, height_ratios=(3, 3, 3, staff_height))
    volume = fig.add_subplot(grid[0])
    _volume_panel(volume, days, by_day)
    _date_axis(volume, days)
    targets = {line.measure: line for line in sla_lines(rows, sla)}
    for i, measure in enumerate(MEASURES, start=1):
        ax = fig.add_subplot(grid[i], sharex=volume)
        _times_panel(ax, days, by_day, measure, targets.get(measure[0]))
        _date_axis(ax, days)
    _load_panel(fig.add_subplot(grid[3]), load)
    fig.suptitle(title, fontsize="x-large", fontweight="bold")
    return fig


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (rendered by Agg; no pyplot state, safe across threads)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
