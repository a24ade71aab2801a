"""Which CRM the running bot uses, from the environment: HubSpot when
``HUBSPOT_ACCESS_TOKEN`` is set; otherwise none (``/crm lead`` then says what to configure).

The generic path for teams without HubSpot, a ``lead.create`` event through a signed
outbound webhook, is :class:`bot.crm.webhook.WebhookCrm`; it is chosen here once the
outbound webhooks (``[sources.webhooks.outbound.NAME]``, bot/publish/outbound.py) are
wired in: see :func:`webhook_crm`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.crm.hubspot import hubspot_from_settings
from bot.settings import Settings
from handlers.config import CrmbotConfig
from handlers.crm_port import Crm

CrmFactory = Callable[[Callable[[], CrmbotConfig]], Crm | None]


def crm_from_settings(settings: Settings) -> CrmFactory:
    """A factory ``CrmBot`` calls with its live config: HubSpot when configured."""

    def make(config: Callable[[], CrmbotConfig]) -> Crm | None:
        return hubspot_from_settings(settings, lambda: config().sources.hubspot)

    return make
