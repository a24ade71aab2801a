"""Fixtures for CRM scenarios: a fake HubSpot and a bot whose CRM is the real client on it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest

from bot.app import CrmBot
from bot.crm.hubspot import HubspotCrm, hubspot_client
from handlers.clock import FakeClock
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config
from tests.fakes.hubspot_api import TOKEN, FakeHubspot

CRM_CONFIG = (
    TEST_CONFIG.replace("[alerts]\n", '[alerts]\nadmin_channel = "support"\n', 1)
    + """
[sources.hubspot]
handle_properties = ["twitterhandle"]
portal_id = 4242
"""
)


class Ticks:
    """An injected monotonic clock and sleep for the client: waits recorded, never slept."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubspot]:
    server = FakeHubspot()
    server.start()
    yield server
    server.stop()


def crm_bot(database_url: str, clock: FakeClock, fake: FakeHubspot) -> CrmBot:
    """A bot on a recording adapter whose CRM is the real HubSpot client on ``fake``."""
    ticks = Ticks()

    def crm(config: Any) -> HubspotCrm:
        return HubspotCrm(
            hubspot_client(TOKEN, fake.url),
            lambda: config().sources.hubspot,
            now=clock.now,
            monotonic=ticks,
            sleep=ticks.sleep,
        )

    return CrmBot(database_url, make_config(CRM_CONFIG), [RecordingAdapter()], clock=clock, crm=crm)


@pytest.fixture
async def crm_harness(
    database_url: str, clock: FakeClock, fake_hubspot: FakeHubspot
) -> AsyncIterator[BotHarness]:
    """A started bot on the recording adapter whose CRM is HubSpot (the fake)."""
    bot = crm_bot(database_url, clock, fake_hubspot)
    adapter = bot.adapters["console"]
    assert isinstance(adapter, RecordingAdapter)
    await bot.start()
    yield BotHarness(bot, adapter, clock)
    await bot.stop()


def hubspot_delivery(
    subscription: str, object_id: int, at: datetime, event_id: int, **extra: Any
) -> bytes:
    """One HubSpot webhook event, ids only (as HubSpot sends creations)."""
    event = {
        "eventId": event_id,
        "subscriptionId": 25,
        "portalId": 4242,
        "appId": 1160452,
        "occurredAt": int(at.timestamp() * 1000),
        "subscriptionType": subscription,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM",
        **extra,
    }
    return json.dumps([event]).encode()
