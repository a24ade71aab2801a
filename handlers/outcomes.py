"""Outcome metrics in replies: social leads and the deals linked to them, per source and
per staff member (``/crm metrics``, the weekly digest, ``crmbot report``; docs/crm.md)."""

from __future__ import annotations

from datetime import datetime

from handlers.context import BotContext
from handlers.replies import Table
from storage import outcomes as store
from storage import staff as staff_store

COLUMNS = ("leads", "new contacts", "deals linked", "deal amount")


def _row(name: str, figures: store.Outcome) -> tuple[str, ...]:
    return (
        name,
        str(figures.leads),
        str(figures.new_contacts),
        str(figures.deals),
        f"{figures.amount:,.0f}",
    )


def outcome_tables(
    ctx: BotContext, since: datetime, until: datetime, only_staff: int | None = None
) -> tuple[Table, ...]:
    """ "Social leads by source" and "by staff" (only ``only_staff``'s row when given);
    nothing when no lead was made and no deal linked in the period."""
    with ctx.db.engine.connect() as conn:
        found = store.outcomes(conn, since, until)
    if not found.by_source:
        return ()
    with ctx.db.session() as session:
        names = staff_store.names_by_id(session)
    by_staff = [
        _row("@" + names[staff] if staff in names else "(unknown)", figures)
        for staff, figures in sorted(
            found.by_staff.items(), key=lambda kv: (-kv[1].leads, names.get(kv[0] or 0, ""))
        )
        if only_staff is None or staff == only_staff
    ]
    tables = []
    if only_staff is None:
        tables.append(
            Table(
                title="Social leads by source",
                columns=("source", *COLUMNS),
                rows=tuple(_row(s, f) for s, f in sorted(found.by_source.items())),
            )
        )
    if by_staff:
        tables.append(
            Table(title="Social leads by staff", columns=("staff", *COLUMNS), rows=tuple(by_staff))
        )
    return tuple(tables)


def outcome_summary(ctx: BotContext, since: datetime, until: datetime) -> tuple[str, str]:
    """The digest's two lines: leads (new contacts) and deals linked (their amount)."""
    with ctx.db.engine.connect() as conn:
        found = store.outcomes(conn, since, until)
    new = sum(f.new_contacts for f in found.by_source.values())
    return f"{found.leads} ({new} new contacts)", f"{found.deals} ({found.amount:,.0f})"
