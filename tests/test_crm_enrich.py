"""A HubSpot webhook that carries only ids is completed in the background by reading
HubSpot (the real client against the fake), never delaying the webhook's answer."""

from __future__ import annotations

import asyncio
import threading

import httpx
from sqlalchemy import select

from bot.assembly import http_routes
from bot.server import build_http_app
from bot.settings import Settings
from handlers.cards import NoticeCard, StatusCard
from handlers.clock import FakeClock
from storage.crm import CrmDeal, CrmEnrichment
from storage.models import Contact, Conversation
from tests import crm_support
from tests.conftest import BotHarness, crm_event
from tests.crm_support import crm_bot, hubspot_delivery
from tests.fakes.hubspot_api import FakeHubspot
from tests.test_webhooks import HUBSPOT_SECRET, _hubspot_headers, served

crm_harness = crm_support.crm_harness
fake_hubspot = crm_support.fake_hubspot


def _rows(h: BotHarness, model: type) -> list[dict[str, object]]:
    with h.bot.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(model.__table__))]  # type: ignore[attr-defined]


async def _post(h: BotHarness, body: bytes) -> httpx.Response:
    settings = Settings(HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET)
    app = build_http_app(h.bot, http_routes(h.bot, settings))
    async with served(app) as base:
        url = f"{base}/webhooks/hubspot"
        async with httpx.AsyncClient() as client:
            return await client.post(url, content=body, headers=_hubspot_headers(h, url, body))


async def test_a_contact_webhook_with_only_ids_is_completed_after_the_answer(
    crm_harness: BotHarness,
    fake_hubspot: FakeHubspot,
) -> None:
    h = crm_harness
    contact_id = fake_hubspot.add_contact(
        firstname="Jane", lastname="Roe", email="jane@acme.test", company="Acme",
        hubspot_owner_id="77", twitterhandle="janeroe",
    )  # fmt: skip
    fake_hubspot.gate = threading.Event()  # HubSpot is slow: reads wait

    response = await _post(
        h, hubspot_delivery("contact.creation", int(contact_id), h.clock.now(), 1)
    )

    assert response.status_code == 202  # answered while the read is still held
    [stored] = _rows(h, Contact)
    assert stored["name"] is None and stored["email"] is None
    await h.deliver()
    assert len(h.adapter.of_kind("alert")) == 1

    fake_hubspot.gate.set()
    await h.bot.enricher.idle()
    await h.deliver()

    [stored] = _rows(h, Contact)
    assert (stored["name"], stored["email"], stored["company"], stored["owner"]) == (
        "Jane Roe", "jane@acme.test", "Acme", "77",
    )  # fmt: skip
    [conversation] = _rows(h, Conversation)
    assert conversation["contact_id"] == stored["id"]
    edits = [p.card for p in h.adapter.posts if p.edit and isinstance(p.card, StatusCard)]
    assert any("Jane Roe (Acme)" in card.line for card in edits)
    assert [r["status"] for r in _rows(h, CrmEnrichment)] == ["done"]


async def test_a_deal_webhook_links_the_deal_and_its_contact(
    crm_harness: BotHarness,
    fake_hubspot: FakeHubspot,
) -> None:
    h = crm_harness
    contact_id = fake_hubspot.add_contact(firstname="Jane", lastname="Roe", company="Acme")
    deal_id = fake_hubspot.add_deal(
        [contact_id], dealname="Acme renewal", amount="12000", dealstage="negotiation"
    )
    body = hubspot_delivery(
        "deal.propertyChange", int(deal_id), h.clock.now(), 2,
        propertyName="dealstage", propertyValue="negotiation",
    )  # fmt: skip

    assert (await _post(h, body)).status_code == 202
    await h.bot.enricher.idle()

    [deal] = _rows(h, CrmDeal)
    [contact] = _rows(h, Contact)
    assert (deal["name"], deal["amount"], deal["contact_id"]) == (
        "Acme renewal", 12000.0, contact["id"],
    )  # fmt: skip
    assert (contact["name"], contact["deal_name"], contact["deal_stage"]) == (
        "Jane Roe", "Acme renewal", "negotiation",
    )  # fmt: skip
    [conversation] = _rows(h, Conversation)
    assert conversation["contact_id"] == contact["id"]


async def test_a_rate_limited_enrichment_is_kept_and_retried_later(
    crm_harness: BotHarness,
    fake_hubspot: FakeHubspot,
) -> None:
    h = crm_harness
    contact_id = fake_hubspot.add_contact(firstname="Jane", email="jane@acme.test")
    fake_hubspot.fail_next(429, retry_after="30", times=3)  # more than the client retries

    assert (
        await _post(h, hubspot_delivery("contact.creation", int(contact_id), h.clock.now(), 3))
    ).status_code == 202
    await h.bot.enricher.idle()

    [row] = _rows(h, CrmEnrichment)
    assert row["status"] == "pending" and "rate limiting" in str(row["last_error"])
    assert _rows(h, Contact)[0]["name"] is None

    h.clock.advance(seconds=31)
    assert await h.bot.enricher.run() == 1
    assert _rows(h, Contact)[0]["name"] == "Jane"
    assert [r["status"] for r in _rows(h, CrmEnrichment)] == ["done"]
    await asyncio.sleep(0)


async def test_a_refused_token_is_told_to_the_admins_without_the_token(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    contact_id = fake_hubspot.add_contact(firstname="Jane")
    fake_hubspot.token = "a-token-hubspot-now-expects"

    body = hubspot_delivery("contact.creation", int(contact_id), h.clock.now(), 4)
    assert (await _post(h, body)).status_code == 202
    await h.bot.enricher.idle()
    await h.deliver()

    [row] = _rows(h, CrmEnrichment)
    assert row["status"] == "failed" and "HUBSPOT_ACCESS_TOKEN" in str(row["last_error"])
    [notice] = [p.card for p in h.adapter.posts if isinstance(p.card, NoticeCard)]
    assert "HUBSPOT_ACCESS_TOKEN" in notice.text and "pat-na1" not in notice.text


async def test_a_pending_enrichment_survives_a_restart(
    sqlite_url: str, clock: FakeClock, fake_hubspot: FakeHubspot
) -> None:
    contact_id = fake_hubspot.add_contact(firstname="Jane", company="Acme")
    fake_hubspot.fail_next(429, retry_after="60", times=3)
    first = crm_bot(sqlite_url, clock, fake_hubspot)
    await first.start()
    first.ingest([crm_event("lead_created", object_id=f"contact-{contact_id}",
                            contact_id=contact_id, summary="New contact")])  # fmt: skip
    await first.enricher.idle()
    await first.stop()  # HubSpot was still limiting: the read is pending

    clock.advance(seconds=61)
    second = crm_bot(sqlite_url, clock, fake_hubspot)
    await second.start()  # runs what was left pending
    await second.enricher.idle()
    try:
        with second.db.engine.connect() as conn:
            [(name, company)] = conn.execute(select(Contact.name, Contact.company)).all()  # type: ignore[call-overload]
        assert (name, company) == ("Jane", "Acme")
    finally:
        await second.stop()
