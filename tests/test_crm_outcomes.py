"""Outcome metrics: a social lead and the deal later linked to its contact, counted per
source and per staff member in /crm metrics, the weekly digest and crmbot report."""

from __future__ import annotations

import asyncio

from handlers.events import Actor
from handlers.replies import Reply, Table
from handlers.reports import weekly_digest
from tests import crm_support
from tests.conftest import BotHarness, crm_event, mention
from tests.fakes.hubspot_api import FakeHubspot

crm_harness = crm_support.crm_harness
fake_hubspot = crm_support.fake_hubspot


def _table(reply: Reply, title: str) -> Table:
    return next(t for t in reply.tables if t.title == title)


async def test_a_lead_and_its_deal_amount_count_per_source_and_staff(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    [conv_id] = h.bot.ingest(
        [mention("does the enterprise plan do SSO?", source="mastodon", platform="mastodon",
                 author_handle="jane@fosstodon.org", author_name="Jane Roe")]
    ).opened  # fmt: skip
    h.bot.ingest([mention("pricing for 5 seats?", author_handle="bob")])  # no lead made
    await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")
    [contact_id] = fake_hubspot.contacts
    h.clock.advance(days=1)
    deal_id = fake_hubspot.add_deal(
        [contact_id], dealname="Fosstodon SSO", amount="12000", dealstage="contractsent"
    )
    fake_hubspot.add_deal([], dealname="Unrelated", amount="999", dealstage="won")
    h.bot.ingest([crm_event("deal_created", object_id=f"deal-{deal_id}", summary="New deal")])
    await h.bot.enricher.idle()

    reply = await asyncio.to_thread(h.exec, "metrics 7d", "lead")

    by_source = _table(reply, "Social leads by source")
    assert by_source.columns == ("source", "leads", "new contacts", "deals linked", "deal amount")
    assert by_source.rows == (("mastodon", "1", "1", "1", "12,000"),)
    assert _table(reply, "Social leads by staff").rows == (("@ana", "1", "1", "1", "12,000"),)
    mine = await asyncio.to_thread(h.exec, "metrics 7d", "ben")  # staff see only their row
    assert [t.title for t in mine.tables if t.title.startswith("Social")] == []
    digest = weekly_digest(h.bot.ctx)
    outcomes = {row[0]: row[1] for row in _table(digest, "Outcomes").rows}
    assert outcomes["social leads (docs/crm.md)"] == "1 (1 new contacts)"
    assert outcomes["deals linked to them (amount)"] == "1 (12,000)"
    assert _table(digest, "Social leads by source").rows[0][0] == "mastodon"


async def test_a_deal_before_the_lead_is_not_an_outcome_of_it(
    crm_harness: BotHarness, fake_hubspot: FakeHubspot
) -> None:
    h = crm_harness
    contact_id = fake_hubspot.add_contact(firstname="Kim", twitterhandle="kim")
    deal_id = fake_hubspot.add_deal([contact_id], dealname="Old deal", amount="5000")
    h.bot.ingest([crm_event("deal_created", object_id=f"deal-{deal_id}", summary="Old")])
    await h.bot.enricher.idle()
    h.clock.advance(hours=1)
    [conv_id] = h.bot.ingest([mention("pricing?", author_handle="kim")]).opened
    await asyncio.to_thread(h.say, f"lead {conv_id}", "ana")

    reply = h.bot.command(Actor("console", "lead", "lead"), "metrics 7d")

    assert _table(reply, "Social leads by source").rows == (("twitter", "1", "0", "0", "0"),)
