"""CRMs crmbot talks to, behind :mod:`handlers.crm_port`: HubSpot's API
(:mod:`bot.crm.hubspot`) and a generic ``lead.create`` outbound webhook (:mod:`bot.crm.webhook`)."""
