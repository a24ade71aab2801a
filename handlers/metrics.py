"""`/crm metrics`: the numbers a manager asks for, as a neutral reply."""

from __future__ import annotations

from handlers.context import BotContext
from handlers.durations import format_duration
from handlers.periods import parse_period
from handlers.replies import Reply, Table
from storage import metrics as metrics_sql
from storage import staff as staff_store
from storage.metrics import Distribution, MetricsReport
from storage.models import Staff

MANAGER_ROLES = ("manager", "admin")


def _dist_row(name: str, dist: Distribution) -> tuple[str, ...]:
    return (
        name,
        str(dist.count),
        format_duration(dist.median),
        format_duration(dist.p90),
        format_duration(dist.average),
    )


def metrics_reply(
    ctx: BotContext,
    asker: Staff,
    role: str,
    period_text: str | None,
    team: str | None = None,
    source: str | None = None,
) -> Reply:
    """Figures for the period; managers see every staff member, staff only themselves."""
    label, length = parse_period(period_text)
    since = ctx.clock.now() - length
    with ctx.db.engine.connect() as conn:
        report = metrics_sql.compute(conn, since, team=team, source=source)
    with ctx.db.session() as session:
        names = staff_store.names_by_id(session)
    is_manager = role in MANAGER_ROLES
    scope = f" for team {team}" if team else (f" from {source}" if source else "")
    text = (
        f"Metrics for the last {label}{scope}: {report.conversations} conversations "
        f"({report.cycles} cycles), {report.resolved} resolved, {report.open_now} still open."
    )
    tables = [_times_table(report)]
    staff_rows = _staff_rows(report, names, None if is_manager else asker.id)
    if staff_rows:
        tables.append(
            Table(
                title="By staff" if is_manager else "Your numbers",
                columns=(
                    "staff",
                    "handled",
                    "claims",
                    "claim p50",
                    "1st replies",
                    "1st reply p50",
                    "resolved",
                    "resolution p50",
                ),
                rows=tuple(staff_rows),
            )
        )
    elif not is_manager:
        text += " You have no handled conversations in this period."
    return Reply(text=text, tables=tuple(tables))


def _times_table(report: MetricsReport) -> Table:
    return Table(
        title="Times",
        columns=("measure", "count", "median", "p90", "average"),
        rows=(
            _dist_row("time to claim", report.time_to_claim),
            _dist_row("first response", report.first_response),
            _dist_row("resolution", report.resolution),
        ),
    )


def _staff_rows(
    report: MetricsReport, names: dict[int, str], only: int | None
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    ordered = sorted(report.staff.values(), key=lambda f: (-f.handled, names.get(f.staff_id, "")))
    for figures in ordered:
        if only is not None and figures.staff_id != only:
            continue
        rows.append(
            (
                "@" + names.get(figures.staff_id, str(figures.staff_id)),
                str(figures.handled),
                str(figures.claims.count),
                format_duration(figures.claims.median),
                str(figures.first_responses.count),
                format_duration(figures.first_responses.median),
                str(figures.resolutions.count),
                format_duration(figures.resolutions.median),
            )
        )
    return rows
