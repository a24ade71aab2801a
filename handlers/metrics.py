"""`/crm metrics`: the numbers a manager asks for, as a neutral reply."""

from __future__ import annotations

from handlers.context import BotContext
from handlers.durations import format_duration
from handlers.errors import UserError
from handlers.metrics_sla import business_table, sla_table, sla_targets
from handlers.outcomes import outcome_tables
from handlers.periods import parse_period
from handlers.replies import Reply, Table
from handlers.reports import chart_reply, summary_text
from storage import metrics as metrics_sql
from storage import staff as staff_store
from storage.metrics_cycles import CycleRow, cycles_since
from storage.metrics_report import Distribution, MetricsReport, StaffFigures
from storage.metrics_sla import sla_counts
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
    user: Staff | None = None,
    business_hours: bool = False,
    chart: bool = False,
) -> Reply:
    """Figures for the period; managers see every staff member, staff only themselves.

    ``user`` narrows the staff table to one person (staff may only name themselves);
    ``business_hours`` adds the SLA-style business-hours table; ``chart`` attaches a PNG.
    """
    is_manager = role in MANAGER_ROLES
    if user is not None and not is_manager and user.id != asker.id:
        raise UserError("Staff can see only their own numbers. Ask a manager for others'.")
    label, length = parse_period(period_text)
    now = ctx.clock.now()
    since = now - length
    person = user.id if user is not None else None
    targets = sla_targets(ctx.config.sla)
    with ctx.db.engine.connect() as conn:
        report = metrics_sql.compute(conn, since, team=team, source=source)
        counts = sla_counts(conn, since, now, targets, team, source, person)
        needs_rows = business_hours or person is not None
        rows = (
            cycles_since(conn, since, team=team, source=source, staff_id=person)
            if needs_rows
            else []
        )
    with ctx.db.session() as session:
        names = staff_store.names_by_id(session)
    scope = f" for team {team}" if team else (f" from {source}" if source else "")
    if person is not None and user is not None:
        text = person_summary(rows, label, scope, user.name)
        mine = report.staff.get(person, StaffFigures(person))
        tables = [_times_table(_person_report(report, mine), f"Times (@{user.name})")]
    else:
        text = summary_text(report, label, scope)
        tables = [_times_table(report)]
    sla = sla_table(targets, counts)
    if sla is not None:
        tables.append(sla)
    if business_hours:
        tables.append(business_table(rows, ctx.config.business_hours, staff_id=person))
    only = person if person is not None else (None if is_manager else asker.id)
    staff_rows = _staff_rows(report, names, only)
    if staff_rows:
        tables.append(
            Table(
                title=_staff_title(is_manager, user),
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
    tables.extend(outcome_tables(ctx, since, now, only_staff=only))
    attachments = chart_reply(ctx, period_text, team, source, user).attachments if chart else ()
    return Reply(text=text, tables=tuple(tables), attachments=attachments)


def _staff_title(is_manager: bool, user: Staff | None) -> str:
    if not is_manager:
        return "Your numbers"
    return f"@{user.name}" if user is not None else "By staff"


def person_summary(rows: list[CycleRow], label: str, scope: str, name: str) -> str:
    """The summary line for one person: the conversation cycles they acted on."""
    resolved = sum(1 for r in rows if r.resolved_at is not None)
    conversations = len({r.conversation_id for r in rows})
    return (
        f"Metrics for the last {label}{scope} for @{name}: worked on {conversations}"
        f" conversations ({len(rows)} cycles), {resolved} resolved, {len(rows) - resolved}"
        f" still open. Times are @{name}'s own claims, first replies and resolutions."
    )


def _person_report(report: MetricsReport, mine: StaffFigures) -> MetricsReport:
    return MetricsReport(
        since=report.since,
        time_to_claim=mine.claims,
        first_response=mine.first_responses,
        resolution=mine.resolutions,
    )


def _times_table(report: MetricsReport, title: str = "Times") -> Table:
    return Table(
        title=title,
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
