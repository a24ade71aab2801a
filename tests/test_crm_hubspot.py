"""HubSpot through the real ``hubspot-api-client`` against a loopback fake of CRM v3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.crm.hubspot import HubspotCrm, hubspot_client, hubspot_from_settings
from bot.settings import Settings
from handlers.config_sources import HubspotConfig
from handlers.crm_port import CrmError, LeadRequest
from tests.crm_support import Ticks
from tests.fakes.hubspot_api import TOKEN, FakeHubspot


@pytest.fixture
def fake() -> Iterator[FakeHubspot]:
    server = FakeHubspot()
    server.start()
    yield server
    server.stop()


CONFIG = HubspotConfig(
    handle_properties=["twitterhandle"],
    profile_property="crmbot_profile_url",
    portal_id=4242,
)


def make_crm(fake: FakeHubspot, ticks: Ticks, token: str = TOKEN) -> HubspotCrm:
    client = hubspot_client(token, fake.url)
    return HubspotCrm(
        client,
        lambda: CONFIG,
        now=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        monotonic=ticks,
        sleep=ticks.sleep,
    )


def lead(**kw: object) -> LeadRequest:
    values: dict[str, object] = {
        "conversation_id": 7,
        "handle": "jane@fosstodon.org",
        "platform": "mastodon",
        "profile_url": "https://fosstodon.org/@jane",
        "display_name": "Jane Roe",
        "email": None,
        "mention_text": "Is there an enterprise plan for 200 seats?",
        "conversation_link": "https://fosstodon.org/@jane/1",
        "staff": "ana",
    }
    values.update(kw)
    return LeadRequest(**values)  # type: ignore[arg-type]


async def test_reads_a_contact_with_its_deals_and_caches_it(fake: FakeHubspot) -> None:
    ticks = Ticks()
    contact = fake.add_contact(
        firstname="Jane", lastname="Roe", email="jane@acme.test", company="Acme",
        hubspot_owner_id="77", lifecyclestage="lead", twitterhandle="janeroe",
    )  # fmt: skip
    fake.add_deal([contact], dealname="Acme renewal", amount="12000", dealstage="negotiation")
    crm = make_crm(fake, ticks)

    record = await crm.read_contact(contact)

    assert (record.name, record.email, record.company, record.owner) == (
        "Jane Roe", "jane@acme.test", "Acme", "77",
    )  # fmt: skip
    assert record.handles == ("janeroe",)
    assert record.url == f"https://app.hubspot.com/contacts/4242/record/0-1/{contact}"
    assert [(d.name, d.amount, d.stage, d.contact_ids) for d in record.deals] == [
        ("Acme renewal", 12000.0, "negotiation", (contact,))
    ]
    reads = fake.calls("GET")
    await crm.read_contact(contact)
    assert fake.calls("GET") == reads  # cached
    ticks.t += CONFIG.cache_ttl.total_seconds() + 1
    await crm.read_contact(contact)
    assert fake.calls("GET") > reads  # stale: read again


async def test_a_429_waits_what_retry_after_says_then_succeeds(fake: FakeHubspot) -> None:
    ticks = Ticks()
    contact = fake.add_contact(firstname="Jane", email="jane@acme.test")
    fake.fail_next(429, retry_after="2", times=2)

    record = await make_crm(fake, ticks).read_contact(contact)

    assert record.name == "Jane"
    assert ticks.slept == [2.0, 2.0]


async def test_a_lasting_429_is_a_retryable_error_with_the_wait(fake: FakeHubspot) -> None:
    ticks = Ticks()
    contact = fake.add_contact(firstname="Jane")
    fake.fail_next(429, retry_after="7", times=5)

    with pytest.raises(CrmError) as caught:
        await make_crm(fake, ticks).read_contact(contact)

    assert not caught.value.permanent
    assert caught.value.retry_after == 7.0
    assert "rate limiting" in caught.value.reason
    assert len(ticks.slept) == 2  # three attempts in all


async def test_a_refused_token_names_the_variable_never_the_token(fake: FakeHubspot) -> None:
    contact = fake.add_contact(firstname="Jane")
    crm = make_crm(fake, Ticks(), token="pat-na1-wrong-secret-9999")

    with pytest.raises(CrmError) as caught:
        await crm.read_contact(contact)

    assert caught.value.permanent
    assert "HUBSPOT_ACCESS_TOKEN" in caught.value.reason
    assert "pat-na1" not in caught.value.reason and "9999" not in caught.value.reason


async def test_find_contact_by_email_then_by_handle(fake: FakeHubspot) -> None:
    by_email = fake.add_contact(firstname="Jane", email="jane@acme.test")
    by_handle = fake.add_contact(firstname="Joe", twitterhandle="@joe")
    crm = make_crm(fake, Ticks())

    found_email = await crm.find_contact(email="JANE@acme.test")
    found_handle = await crm.find_contact(handle="joe")
    nobody = await crm.find_contact(email="nobody@acme.test", handle="nobody")

    assert found_email is not None and found_email.id == by_email
    assert found_handle is not None and found_handle.id == by_handle
    assert nobody is None


async def test_a_new_lead_creates_the_contact_a_note_and_its_association(
    fake: FakeHubspot,
) -> None:
    result = await make_crm(fake, Ticks()).upsert_lead(lead())

    assert result.created
    props = fake.contacts[result.contact_id]
    assert props["twitterhandle"] == "jane@fosstodon.org"
    assert props["crmbot_profile_url"] == "https://fosstodon.org/@jane"
    assert (props["firstname"], props["lastname"]) == ("Jane", "Roe")
    [note] = fake.notes
    assert "enterprise plan for 200 seats" in note["properties"]["hs_note_body"]
    assert "https://fosstodon.org/@jane/1" in note["properties"]["hs_note_body"]
    [association] = note["associations"]
    assert association["to"]["id"] == result.contact_id
    assert association["types"][0]["associationTypeId"] == 202
    assert result.url == f"https://app.hubspot.com/contacts/4242/record/0-1/{result.contact_id}"


async def test_a_lead_whose_email_matches_reuses_the_contact(fake: FakeHubspot) -> None:
    existing = fake.add_contact(firstname="Jane", lastname="Roe", email="jane@acme.test")

    result = await make_crm(fake, Ticks()).upsert_lead(lead(email="Jane@Acme.test"))

    assert not result.created and result.contact_id == existing
    assert len(fake.contacts) == 1  # no duplicate
    assert fake.contacts[existing]["twitterhandle"] == "jane@fosstodon.org"
    assert fake.notes[0]["associations"][0]["to"]["id"] == existing


async def test_a_lead_whose_handle_matches_reuses_the_contact(fake: FakeHubspot) -> None:
    existing = fake.add_contact(firstname="Jane", twitterhandle="jane@fosstodon.org")

    result = await make_crm(fake, Ticks()).upsert_lead(lead())

    assert not result.created and result.contact_id == existing
    assert len(fake.contacts) == 1


def test_settings_point_the_client_at_hubspot_api_url(fake: FakeHubspot) -> None:
    settings = Settings(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake.url + "/")
    crm = hubspot_from_settings(settings, lambda: CONFIG)
    assert crm is not None
    assert hubspot_from_settings(Settings(), lambda: CONFIG) is None
