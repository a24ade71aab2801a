"""Create lead and ``/crm lead``: the author becomes a HubSpot contact (the real client on
the fake), reused when the email or handle matches, with a note and a link back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from bot.app import CrmBot
from bot.crm.factory import crm_from_settings
from bot.settings import Settings
from handlers.cards import AlertCard, NoticeCard
from handlers.clock import FakeClock
from handlers.config_crm import CrmConfig
from handlers.events import Action, Actor
from storage.crm import CrmLead
from storage.models import Author, Contact, HandlingEvent
from storage.privacy import erase_author
from tests import crm_support
from tests.conftest import BotHarness, RecordingAdapter, crm_event, make_config, mention
from tests.fakes.hubspot_api import FakeHubspot

crm_harness = crm_support.crm_harness
fake_hubspot = crm_support.fake_hubspot


def _rows(h: BotHarness, model: type) -> list[dict[str, object]]:
    with h.bot.db.engine.connect() as conn:
        table = model.__table__  # type: ignore[attr-defined]
        return [dict(r._mapping) for r in conn.execute(select(table))]


def _notices(h: BotHarness) -> list[str]:
    return [p.card.text for p in h.adapter.posts if isinstance(p.card, NoticeCard)]


async def test_create_lead_reuses_the_contact_whose_email_matches(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    existing = fake_hubspot.add_contact(firstname="Jane", lastname="Roe", email="jane@acme.test")
    h.bot.ingest(
        [
            crm_event(
                "contact_updated", object_id=f"contact-{existing}", contact_id=existing,
                contact_name="Jane Roe", contact_email="jane@acme.test", summary="Jane updated",
            )
        ]
    )  # fmt: skip
    result = h.bot.ingest(
        [
            mention(
                "is there an enterprise plan for 200 seats?", author_handle="janeroe",
                author_email="jane@acme.test", url="https://x.com/janeroe/status/1",
            )
        ]
    )  # fmt: skip
    [conv_id] = result.opened
    await h.deliver()

    answer = await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")

    assert "existing HubSpot contact" in answer and "Jane Roe" in answer
    assert len(fake_hubspot.contacts) == 1  # reused, not duplicated
    assert fake_hubspot.contacts[existing]["twitterhandle"] == "janeroe"
    [note] = fake_hubspot.notes
    assert note["associations"][0]["to"]["id"] == existing
    assert "enterprise plan for 200 seats" in note["properties"]["hs_note_body"]
    assert "https://x.com/janeroe/status/1" in note["properties"]["hs_note_body"]
    await h.deliver()
    assert any("Lead in HubSpot" in text and "Jane Roe" in text for text in _notices(h))
    [lead] = _rows(h, CrmLead)
    assert lead["created"] is False and lead["source"] == "twitter"
    kinds = [(e["kind"], e["actor_id"]) for e in _rows(h, HandlingEvent)]
    assert ("lead_created", lead["staff_id"]) in kinds


async def test_the_create_lead_button_makes_a_contact_with_a_note(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    result = h.bot.ingest(
        [mention("our whole team wants the enterprise plan", author_handle="sam",
                 author_name="Sam Lee", url="https://x.com/sam/status/2")]
    )  # fmt: skip
    [conv_id] = result.opened
    await h.deliver()
    ana = Actor("console", "ana", "ana")

    answer = await h.bot.inbound.action(Action(ana, "lead", conv_id, delivery_id="press-1"))

    assert answer.startswith(f"Created a lead in HubSpot for #{conv_id}")
    [(contact_id, props)] = fake_hubspot.contacts.items()
    assert props == {"twitterhandle": "sam", "firstname": "Sam", "lastname": "Lee"}
    [note] = fake_hubspot.notes
    assert note["associations"][0]["to"]["id"] == contact_id
    assert note["associations"][0]["types"][0]["associationTypeId"] == 202
    contact = _rows(h, Contact)[0]
    assert contact["external_id"] == contact_id and contact["name"] == "Sam Lee"
    assert contact["url"] == f"https://app.hubspot.com/contacts/4242/record/0-1/{contact_id}"
    assert _rows(h, Author)[0]["contact_id"] == contact["id"]
    await h.deliver()
    assert any(f"record/0-1/{contact_id}" in text for text in _notices(h))

    again = await asyncio.to_thread(h.say, f"lead {conv_id}", "ben")
    assert again.startswith(f"#{conv_id} is already a lead: Sam Lee")
    assert len(fake_hubspot.contacts) == 1 and len(fake_hubspot.notes) == 1


async def test_a_new_alert_shows_the_contact_after_a_lead(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    [conv_id] = h.bot.ingest(
        [mention("pricing for the enterprise plan?", author_handle="kim")]
    ).opened
    await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")
    await h.deliver()
    [alert] = [p.card for p in h.adapter.of_kind("alert") if isinstance(p.card, AlertCard)]
    assert alert.contact is not None  # posted after the lead: the card names the contact
    assert alert.lead  # with a CRM configured, social alerts offer Create lead


def test_crm_lead_without_a_crm_says_what_to_configure(harness: BotHarness) -> None:
    [conv_id] = harness.bot.ingest([mention("pricing please", author_handle="zed")]).opened

    answer = harness.say(f"lead {conv_id}", "ana")

    assert "HUBSPOT_ACCESS_TOKEN" in answer
    assert '"lead.create"' in answer and "[sources.webhooks.outbound.NAME]" in answer


async def test_a_lead_on_a_crm_event_is_refused_in_words(crm_harness: BotHarness) -> None:
    [conv_id] = crm_harness.bot.ingest([crm_event("deal_stage_changed")]).opened
    answer = await asyncio.to_thread(crm_harness.say, f"lead {conv_id}", "ana")
    assert "is a CRM event, not a social conversation" in answer


async def test_a_refused_token_is_said_without_the_token(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    fake_hubspot.token = "another-token"  # HubSpot no longer accepts ours
    [conv_id] = crm_harness.bot.ingest([mention("pricing?", author_handle="lou")]).opened

    answer = await asyncio.to_thread(crm_harness.say, f"lead {conv_id}", "ana")

    assert "HUBSPOT_ACCESS_TOKEN" in answer and "pat-na1" not in answer
    assert _rows(crm_harness, CrmLead) == []


async def test_without_hubspot_a_lead_create_webhook_carries_the_lead(
    sqlite_url: str, clock: FakeClock
) -> None:
    sent: list[tuple[str, dict[str, object], str]] = []

    async def send(event: str, body: Mapping[str, Any], key: str) -> None:
        sent.append((event, dict(body), key))

    factory = crm_from_settings(Settings(), lead_webhook=lambda config: ("crm-sync", send))
    adapter = RecordingAdapter()
    bot = CrmBot(sqlite_url, make_config(), [adapter], clock=clock, crm=factory)
    h = BotHarness(bot, adapter, clock)
    try:
        [conv_id] = bot.ingest(
            [mention("enterprise plan?", platform="bluesky", author_handle="@amy.bsky.social",
                     author_name="Amy", url="https://bsky.app/profile/amy.bsky.social/post/1")]
        ).opened  # fmt: skip

        answer = await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")

        assert "the outbound webhook crm-sync" in answer
        [(event, body, key)] = sent
        assert (event, key) == ("lead.create", f"lead-{conv_id}")
        assert body["handle"] == "amy.bsky.social" and body["platform"] == "bluesky"
        assert body["profile_url"] == "https://bsky.app/profile/amy.bsky.social"
        assert body["mention_text"] == "enterprise plan?" and body["staff"] == "ana"
        assert _rows(h, CrmLead)[0]["crm"] == "webhook"
        assert not bot.enricher.enabled  # a webhook cannot be read
    finally:
        bot.ingestor.close()
        bot.db.dispose()


async def test_with_lead_approval_a_lead_waits_for_another_approver(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    h.bot.apply_config(h.bot.config.model_copy(update={"crm": CrmConfig(lead_approval=True)}))
    [conv_id] = h.bot.ingest([mention("enterprise plan?", author_handle="amy")]).opened
    [other_id] = h.bot.ingest([mention("pricing?", author_handle="max")]).opened

    def say(text: str, user: str) -> Any:
        return asyncio.to_thread(h.say, text, user)

    asked = await say(f"lead {conv_id}", "ben")
    assert asked.startswith("Asked for approval: a manager other than you")
    assert fake_hubspot.contacts == {}  # nothing in HubSpot before approval
    await h.deliver()
    assert any(f"`/crm lead approve {conv_id}`" in t for t in _notices(h))
    assert "Only managers can approve" in await say(f"lead approve {conv_id}", "ana")

    approved = await say(f"lead approve {conv_id}", "lead")

    assert approved.startswith(f"Created a lead in HubSpot for #{conv_id}")
    assert len(fake_hubspot.contacts) == 1
    [lead] = _rows(h, CrmLead)
    events = {e["kind"]: e for e in _rows(h, HandlingEvent)}
    assert lead["staff_id"] == events["lead_requested"]["actor_id"]  # credited to ben
    detail = events["lead_created"]["detail"]
    assert isinstance(detail, dict) and detail["approver"] == "lead"

    await say(f"lead {other_id}", "lead")
    assert "another manager approves it" in await say(f"lead approve {other_id}", "lead")
    turned_down = await say(f"lead reject {other_id}", "lead")
    assert "You asked for this lead" in turned_down
    assert "No lead is waiting" in await say(f"lead approve {conv_id}", "lead")


async def test_forgetting_the_author_erases_the_lead_contact_and_its_links(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    [conv_id] = h.bot.ingest(
        [mention("pricing?", author_handle="pat", author_name="Pat Doe")]
    ).opened
    await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")
    with h.bot.db.transaction() as conn:
        erase_author(conn, "pat")

    [contact] = _rows(h, Contact)
    assert (contact["name"], contact["url"]) == (None, None)
    assert _rows(h, CrmLead)[0]["url"] is None
