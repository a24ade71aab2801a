"""The generic CRM path for teams without HubSpot: a ``lead.create`` event through a signed
outbound webhook (``[sources.webhooks.outbound.NAME]`` whose ``events`` include
``lead.create``; bot/publish/outbound.py signs and sends it).

The receiver (an automation tool, an in-house CRM) creates or updates the contact; it
is told the author, the mention and the conversation link, with an idempotency key per
conversation so a retried send is recognisable. Such a CRM cannot be read, so webhooks
are not enriched through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from handlers.crm_port import ContactRecord, CrmError, DealRecord, LeadRequest, LeadResult
from handlers.errors import RemoteError

LEAD_EVENT = "lead.create"

# (event, body, idempotency key): OutboundWebhook.send of bot/publish/outbound.py
Send = Callable[[str, Mapping[str, Any], str], Awaitable[Any]]


class WebhookCrm:
    """Sends ``lead.create``; reads nothing."""

    name = "webhook"
    can_read = False

    def __init__(self, send: Send, webhook: str) -> None:
        self._send = send
        self.label = f"the outbound webhook {webhook}"

    async def read_contact(self, contact_id: str) -> ContactRecord:
        raise CrmError(f"{self.label} cannot read contacts.", permanent=True)

    async def read_deal(self, deal_id: str) -> DealRecord:
        raise CrmError(f"{self.label} cannot read deals.", permanent=True)

    async def find_contact(
        self, email: str | None = None, handle: str | None = None
    ) -> ContactRecord | None:
        return None

    async def upsert_lead(self, lead: LeadRequest) -> LeadResult:
        """Send the lead; the contact's id here is ``platform:handle`` (stable per author)."""
        handle = lead.handle.strip().lstrip("@")
        body = {
            "event": LEAD_EVENT,
            "conversation_id": lead.conversation_id,
            "handle": handle,
            "platform": lead.platform,
            "profile_url": lead.profile_url,
            "display_name": lead.display_name,
            "email": lead.email,
            "mention_text": lead.mention_text,
            "conversation_link": lead.conversation_link,
            "staff": lead.staff,
        }
        try:
            await self._send(LEAD_EVENT, body, f"lead-{lead.conversation_id}")
        except CrmError:
            raise
        except RemoteError as exc:  # the outbound webhook's PublishError
            raise CrmError(
                exc.reason, permanent=exc.permanent, retry_after=exc.retry_after
            ) from None
        return LeadResult(
            contact_id=f"{lead.platform}:{handle.lower()}",
            created=True,
            name=lead.display_name,
            email=lead.email,
        )
