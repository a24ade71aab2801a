"""Manager reports beyond `/crm metrics`: leaderboard, CSV export, charts, outcomes and
the weekly digest (all platform-neutral replies)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure
from sqlalchemy import TextClause, bindparam, text

from handlers.charts import overview_figure, render_png
from handlers.context import BotContext
from handlers.durations import format_duration
from handlers.metrics_hours import business_seconds
from handlers.outcomes import outcome_summary, outcome_tables
from handlers.periods import parse_period
from handlers.replies import Attachment, Reply, Table
from storage import metrics as metrics_sql
from storage import staff as staff_store
from storage.metrics_cycles import CycleRow, cycles_since
from storage.metrics_report import MetricsReport
from storage.models import Staff
from storage.types import UTCDateTime

EXPORT_COLUMNS = (
    "conversation_id", "cycle", "source", "severity", "team", "received_at", "alerted_at",
    "claimed_at", "claimed_by", "first_response_at", "first_response_by", "resolved_at",
    "resolved_by", "claim_s", "first_response_s", "resolution_s", "claim_bh_s",
    "first_response_bh_s", "resolution_bh_s", "handled_by",
)  # fmt: skip


def _since(ctx: BotContext, period: str | None) -> tuple[str, datetime]:
    label, length = parse_period(period)
    return label, ctx.clock.now() - length


def _names(ctx: BotContext) -> dict[int, str]:
    with ctx.db.session() as session:
        return staff_store.names_by_id(session)


def leaderboard_reply(ctx: BotContext, period: str | None) -> Reply:
    """Staff ranked by resolutions, then first responses, with their medians."""
    label, since = _since(ctx, period)
    with ctx.db.engine.connect() as conn:
        report = metrics_sql.compute(conn, since)
    names = _names(ctx)
    ranked = sorted(
        report.staff.values(),
        key=lambda f: (-f.resolutions.count, -f.first_responses.count, names.get(f.staff_id, "")),
    )
    rows = tuple(
        (
            str(i),
            "@" + names.get(f.staff_id, str(f.staff_id)),
            str(f.resolutions.count),
            str(f.first_responses.count),
            format_duration(f.first_responses.median),
            format_duration(f.resolutions.median),
            str(f.handled),
        )
        for i, f in enumerate(ranked, 1)
    )
    columns = (
        "#",
        "staff",
        "resolved",
        "1st replies",
        "1st reply p50",
        "resolution p50",
        "handled",
    )
    return Reply(
        text=f"Leaderboard for the last {label}.",
        tables=(Table(title="Leaderboard", columns=columns, rows=rows),),
    )


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ""


def export_csv(ctx: BotContext, rows: list[CycleRow], names: dict[int, str]) -> bytes:
    """One CSV line per conversation cycle: every time, who, and business-hours durations."""
    hours = ctx.config.business_hours
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)

    def who(staff: int | None) -> str:
        return names.get(staff, str(staff)) if staff is not None else ""

    def bh(start: datetime | None, end: datetime | None) -> str:
        return "" if end is None or start is None else f"{business_seconds(start, end, hours):.0f}"

    for r in rows:
        writer.writerow(
            (
                r.conversation_id, r.n, r.source, r.severity, r.team or "", _iso(r.received_at),
                _iso(r.alerted_at), _iso(r.claimed_at), who(r.claimed_by),
                _iso(r.first_response_at), who(r.first_response_by), _iso(r.resolved_at),
                who(r.resolved_by),
                *("" if v is None else f"{v:.0f}" for v in (r.claim_s, r.first_response_s, r.resolution_s)),
                bh(r.alerted_at or r.received_at, r.claimed_at if r.claimed_by else None),
                bh(r.received_at, r.first_response_at), bh(r.received_at, r.resolved_at),
                " ".join(sorted(who(s) for s in r.handled_by)),
            )
        )  # fmt: skip
    return out.getvalue().encode("utf-8")


def export_reply(ctx: BotContext, period: str | None) -> Reply:
    label, since = _since(ctx, period)
    with ctx.db.engine.connect() as conn:
        rows = cycles_since(conn, since)
    data = export_csv(ctx, rows, _names(ctx))
    name = f"crmbot-export-{ctx.clock.now():%Y%m%d}-{label}.csv"
    return Reply(
        text=f"Export for the last {label}: {len(rows)} conversation cycles.",
        attachments=(Attachment(name, data, "text/csv"),),
        ephemeral=True,  # customer data: only for the asker (a direct message in Slack)
    )


def chart_figure(
    ctx: BotContext,
    period: str | None,
    team: str | None = None,
    source: str | None = None,
    staff: Staff | None = None,
) -> tuple[Figure, str, int]:
    """The overview chart (days in the business-hours time zone, SLA lines from ``[sla]``),
    its period label and how many cycles it covers; with ``staff``, only the cycles that
    person worked on."""
    label, since = _since(ctx, period)
    with ctx.db.engine.connect() as conn:
        rows = cycles_since(
            conn, since, team=team, source=source, staff_id=staff.id if staff else None
        )
    hours = ctx.config.business_hours
    tz = ZoneInfo(hours.timezone)
    first, last = since.astimezone(tz).date(), ctx.clock.now().astimezone(tz).date()
    scope = f", team {team}" if team else (f", from {source}" if source else "")
    if staff is not None:
        scope += f", worked on by @{staff.name}"
    title = f"Last {label}{scope}: {first:%d %b} to {last:%d %b %Y} ({hours.timezone})"
    fig = overview_figure(rows, _names(ctx), title, first, last, ctx.config.sla, tz)
    return fig, label, len(rows)


def chart_reply(
    ctx: BotContext,
    period: str | None,
    team: str | None = None,
    source: str | None = None,
    staff: Staff | None = None,
) -> Reply:
    fig, label, cycles = chart_figure(ctx, period, team, source, staff)
    return Reply(
        text=f"Charts for the last {label}: {cycles} conversation cycles.",
        attachments=(Attachment(f"crmbot-{label}.png", render_png(fig), "image/png"),),
    )


SEGMENTS = ("creators", "contributors", "occasional", "silent")


def outcome_table(ctx: BotContext, since: datetime) -> Table:
    """Leads and deals linked to social conversations, engaged authors, segments."""

    def q(sql: str) -> TextClause:
        return text(sql).bindparams(bindparam("since", type_=UTCDateTime()))

    with ctx.db.engine.connect() as conn:
        params = {"since": since}
        authors, mentions = conn.execute(
            q(
                "SELECT COUNT(DISTINCT author_id), COUNT(*) FROM mention WHERE received_at >= :since"
            ),
            params,
        ).one()
        per_author = conn.execute(
            q(
                "SELECT a.handle, COUNT(m.id), AVG(m.sentiment) FROM author a"
                " LEFT JOIN mention m ON m.author_id = a.id AND m.received_at >= :since"
                " GROUP BY a.handle"
            ),
            params,
        ).all()
    leads, deals = outcome_summary(ctx, since, ctx.clock.now())
    segments = dict.fromkeys(SEGMENTS, 0)
    for _handle, count, _sent in per_author:
        seg = (
            "creators"
            if count >= 5
            else "contributors"
            if count >= 2
            else "occasional"
            if count
            else "silent"
        )
        segments[seg] += 1
    active = [(h, float(s)) for h, c, s in per_author if c and s is not None]
    advocates = [h for h, s in sorted(active, key=lambda x: -x[1]) if s > 0.3][:3]
    detractors = [h for h, s in sorted(active, key=lambda x: x[1]) if s < -0.3][:3]
    rows = (
        ("unique authors engaged", str(authors)),
        ("interactions (mentions)", str(mentions)),
        ("social leads (docs/crm.md)", leads),
        ("deals linked to them (amount)", deals),
        ("segments", ", ".join(f"{n} {s}" for s, n in segments.items())),
        ("top advocates", " ".join("@" + h for h in advocates) or "-"),
        ("top detractors", " ".join("@" + h for h in detractors) or "-"),
    )  # fmt: skip
    return Table(title="Outcomes", columns=("measure", "value"), rows=rows)


def summary_text(report: MetricsReport, label: str, scope: str) -> str:
    """The one-line summary heading `/crm metrics` and the weekly digest."""
    return (
        f"Metrics for the last {label}{scope}: {report.conversations} conversations "
        f"({report.cycles} cycles), {report.resolved} resolved, {report.open_now} still open."
    )


def weekly_digest(ctx: BotContext) -> Reply:
    """The weekly digest for managers: last 7 days' figures, leaderboard and a chart."""
    _label, since = _since(ctx, "7d")
    with ctx.db.engine.connect() as conn:
        report = metrics_sql.compute(conn, since)
    board = leaderboard_reply(ctx, "7d")
    chart = chart_reply(ctx, "7d")
    return Reply(
        text="Weekly digest. " + summary_text(report, "7d", ""),
        tables=(
            *board.tables,
            outcome_table(ctx, since),
            *outcome_tables(ctx, since, ctx.clock.now()),
        ),
        attachments=chart.attachments,
    )
