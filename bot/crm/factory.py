"""Which CRM the running bot uses: HubSpot when ``HUBSPOT_ACCESS_TOKEN`` is set; else a
``lead.create`` outbound webhook when one is configured (:class:`bot.crm.webhook.WebhookCrm`);
else none (``/crm lead`` then says what to configure).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from bot.crm.hubspot import hubspot_from_settings
from bot.crm.webhook import Send, WebhookCrm
from bot.publish.outbound import subscribed
from bot.settings import Settings
from handlers.config import CrmbotConfig
from handlers.crm_port import Crm

CrmFactory = Callable[[Callable[[], CrmbotConfig]], Crm | None]
# the outbound webhook that takes lead.create, if any: (its name, its send)
LeadWebhook = Callable[[CrmbotConfig], tuple[str, Send] | None]


def outbound_lead_webhook(config: CrmbotConfig) -> tuple[str, Send] | None:
    """The first ``[sources.webhooks.outbound.NAME]`` (by name) whose ``events`` include
    ``lead.create``, with its signed send (bot/publish/outbound.py)."""
    hooks = sorted(
        subscribed(config.sources.webhooks, "lead.create", os.environ), key=lambda h: h.name
    )
    if not hooks:
        return None
    return hooks[0].name, hooks[0].send


def crm_from_settings(
    settings: Settings, lead_webhook: LeadWebhook | None = outbound_lead_webhook
) -> CrmFactory:
    """A factory ``CrmBot`` calls with its live config. ``lead_webhook`` finds the
    outbound webhook (``[sources.webhooks.outbound.NAME]``) whose events include
    ``lead.create``, and how to send through it (bot/publish/outbound.py)."""

    def make(config: Callable[[], CrmbotConfig]) -> Crm | None:
        hubspot = hubspot_from_settings(settings, lambda: config().sources.hubspot)
        if hubspot is not None:
            return hubspot
        found = lead_webhook(config()) if lead_webhook is not None else None
        if found is not None:
            name, send = found
            return WebhookCrm(send, name)
        return None

    return make
