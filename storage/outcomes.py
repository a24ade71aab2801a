"""Outcome figures of social conversations: leads made from them and the deals of those
leads' contacts (definitions in docs/crm.md, "Outcome metrics")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from storage.crm import CrmDeal, CrmLead


@dataclass(slots=True)
class Outcome:
    """Leads and linked deals of one source or one staff member in a period."""

    key: str | int | None
    leads: int = 0
    new_contacts: int = 0
    deals: int = 0
    amount: float = 0.0


@dataclass(slots=True)
class Outcomes:
    """The period's outcomes, by source and by staff member (``staff_id``)."""

    by_source: dict[str, Outcome]
    by_staff: dict[int | None, Outcome]

    @property
    def leads(self) -> int:
        return sum(o.leads for o in self.by_source.values())

    @property
    def deals(self) -> int:
        return sum(o.deals for o in self.by_source.values())

    @property
    def amount(self) -> float:
        return sum(o.amount for o in self.by_source.values())


def outcomes(conn: Connection, since: datetime, until: datetime) -> Outcomes:
    """Leads made in [since, until], and deals first seen in it whose contact came from a
    social lead made before; a deal counts for its contact's first lead's source and staff."""
    lead, deal = CrmLead.__table__, CrmDeal.__table__  # type: ignore[attr-defined]
    result = Outcomes({}, {})

    def add(source: str, staff: int | None) -> tuple[Outcome, Outcome]:
        return (
            result.by_source.setdefault(source, Outcome(source)),
            result.by_staff.setdefault(staff, Outcome(staff)),
        )

    made = conn.execute(
        select(lead.c.source, lead.c.staff_id, lead.c.created).where(
            lead.c.at >= since, lead.c.at <= until
        )
    )
    for source, staff, created in made:
        for figures in add(source, staff):
            figures.leads += 1
            figures.new_contacts += int(bool(created))
    first = (
        select(lead.c.contact_id, func.min(lead.c.id).label("lead_id"))
        .group_by(lead.c.contact_id)
        .subquery()
    )
    linked = conn.execute(
        select(lead.c.source, lead.c.staff_id, deal.c.amount)
        .select_from(
            deal.join(first, first.c.contact_id == deal.c.contact_id).join(
                lead, lead.c.id == first.c.lead_id
            )
        )
        .where(
            and_(
                deal.c.first_seen_at >= since,
                deal.c.first_seen_at <= until,
                deal.c.first_seen_at >= lead.c.at,
            )
        )
    )
    for source, staff, amount in linked:
        for figures in add(source, staff):
            figures.deals += 1
            figures.amount += float(amount or 0)
    return result
