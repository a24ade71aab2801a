"""The port a CRM implements: read what a webhook only names, and turn an author into a lead.

A CRM (``bot/crm/hubspot.py`` with the official ``hubspot-api-client``; ``bot/crm/webhook.py``
sends ``lead.create`` through a signed outbound webhook for teams without HubSpot) is
used by handlers in two places:

- enrichment (:mod:`handlers.crm_enrich`): a HubSpot webhook carries ids; after ingest,
  in the background, :meth:`Crm.read_contact` / :meth:`Crm.read_deal` complete the stored
  contact and link the conversation to it;
- **Create lead** (:mod:`handlers.leads`): :meth:`Crm.upsert_lead` creates or updates the
  contact (an existing one with the same email or handle is reused, never duplicated),
  attaches a note with the mention and the conversation link, and associates them.

A CRM never reads storage. Every failure is a :class:`CrmError` whose ``reason`` is said
to staff as written: it names the problem (and an environment variable, never its value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.errors import RemoteError


@dataclass(frozen=True, slots=True)
class DealRecord:
    """A deal as the CRM has it, with the ids of its associated contacts."""

    id: str
    name: str | None = None
    amount: float | None = None
    stage: str | None = None
    contact_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact as the CRM has it. ``handles`` are the values of the configured handle
    properties; ``deals`` its associated deals (the first few)."""

    id: str
    name: str | None = None
    email: str | None = None
    company: str | None = None
    owner: str | None = None
    lifecycle_stage: str | None = None
    handles: tuple[str, ...] = ()
    deals: tuple[DealRecord, ...] = ()
    url: str | None = None


@dataclass(frozen=True, slots=True)
class LeadRequest:
    """Who to make a lead of, and what to note on their record."""

    conversation_id: int
    handle: str
    platform: str
    profile_url: str | None
    display_name: str | None
    email: str | None
    mention_text: str
    conversation_link: str | None
    staff: str = ""  # who asked (the note says so)


@dataclass(frozen=True, slots=True)
class LeadResult:
    """The contact the lead became: ``created`` False when an existing one was reused."""

    contact_id: str
    created: bool
    url: str | None = None
    name: str | None = None
    email: str | None = None
    company: str | None = None


class CrmError(RemoteError):
    """The CRM could not do it (a :class:`RemoteError`: a reason in words, permanent or
    retried after ``retry_after``)."""


class Crm(Protocol):
    """A CRM crmbot reads from and creates leads in."""

    name: str  # stored as ``contact.crm`` (``hubspot``, ``webhook``)
    label: str  # how staff read it ("HubSpot", "the outbound webhook crm-sync")

    @property
    def can_read(self) -> bool:
        """Whether :meth:`read_contact`, :meth:`read_deal` and :meth:`find_contact` work
        (a write-only CRM, like an outbound webhook, cannot enrich)."""
        ...

    async def read_contact(self, contact_id: str) -> ContactRecord:
        """The contact; CrmError(permanent) when it does not exist."""
        ...

    async def read_deal(self, deal_id: str) -> DealRecord:
        """The deal with its associated contact ids."""
        ...

    async def find_contact(
        self, email: str | None = None, handle: str | None = None
    ) -> ContactRecord | None:
        """The contact with this email, else with this handle, else None."""
        ...

    async def upsert_lead(self, lead: LeadRequest) -> LeadResult:
        """Create the contact or update the one with the same email or handle, then attach
        a note with the mention text and the conversation link to it."""
        ...
