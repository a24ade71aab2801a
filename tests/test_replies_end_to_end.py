"""A reply from the chat to a Mastodon customer, end to end: the mention as the poller
stores it (with its reply refs), `/crm send` in an approve channel, a manager's approval,
the publish worker, the real Mastodon.py client against a loopback Mastodon, the link in
the thread and the `replied` event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.app import CrmBot
from bot.assembly import follow_publishers
from bot.publish.registry import build_publishers
from bot.sources.base import html_to_text
from handlers.cards import ReplyCard
from handlers.clock import FakeClock
from handlers.events import Actor, Mention
from storage.models import Cycle
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config
from tests.fakes.social_api import FakeMastodon, FakePlatform, WebhookReceiver, running_platform

TOKEN = "masto-token-e2e"
ANA = Actor("console", "ana", "ana")


@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    async with running_platform() as platform:
        yield platform


async def test_an_approved_reply_reaches_the_mastodon_customer_once(
    fake: FakePlatform, sqlite_url: str, clock: FakeClock
) -> None:
    masto = FakeMastodon(fake, TOKEN)
    original = masto.original("113900000000000003", "janeroe", visibility="private")
    text = TEST_CONFIG.replace(
        "[channels.support]\n", '[channels.support]\nreply_mode = "approve"\n'
    ) + (
        f'\n[sources.mastodon.main]\napi_base_url = "{fake.base}"\n'
        'hashtags = ["acme"]\ntoken_env = "MASTO_TOKEN"\n'
    )
    config = make_config(text)
    publishers = build_publishers(config, {"MASTO_TOKEN": TOKEN}, now=clock.now)
    adapter = RecordingAdapter()
    bot = CrmBot(sqlite_url, config, [adapter], clock=clock, publishers=publishers)
    h = BotHarness(bot, adapter, clock)
    try:
        bot.ingest(
            [
                Mention(
                    source="mastodon",
                    external_id=original["uri"],
                    platform="mastodon",
                    author_handle="janeroe@mastodon.example",
                    text="is acme down? nothing loads",
                    posted_at=datetime(2026, 3, 2, 8, 55, tzinfo=UTC),
                    url=original["url"],
                    reply_ref={"id": "113900000000000003", "visibility": "private"},
                )
            ]
        )
        await h.deliver()
        assert h.say("send 1 Sorry! We're on it.", "ana").startswith("Drafted r1")
        clock.advance(minutes=3)
        assert h.say("approve r1", "lead") == "Approved r1; sending it to Mastodon."
        assert await bot.publish_worker.drain() == 1
        assert await bot.publish_worker.drain() == 0
        await h.deliver()

        [status] = masto.posted
        assert status["in_reply_to_id"] == "113900000000000003"
        assert status["visibility"] == "private"
        assert html_to_text(status["content"]) == "@janeroe Sorry! We're on it."
        card = [p.card for p in adapter.of_kind("reply") if isinstance(p.card, ReplyCard)][-1]
        assert (card.state, card.url, card.approver) == ("published", status["url"], "lead")
        with bot.db.session() as session:
            cycle = session.exec(select(Cycle)).one()
            assert cycle.first_response_at == clock.now()
    finally:
        await bot.stop()


async def test_a_thread_reply_to_an_x_mention_goes_out_as_a_signed_webhook_once(
    fake: FakePlatform, sqlite_url: str, clock: FakeClock
) -> None:
    """X through an automation tool: the mention came in on `POST /webhooks/zapier`; a
    `>>` message in the alert's thread goes back out to the tool as a signed reply.create,
    and a publish repeated after a lost answer is dropped by the receiver's idempotency."""
    receiver = WebhookReceiver(fake, "out-secret-e2e")
    text = TEST_CONFIG.replace(
        "[channels.support]\n", '[channels.support]\nreply_mode = "direct"\n'
    ) + (
        f'\n[sources.webhooks.outbound.zapier]\nurl = "{receiver.url}"\n'
        'secret_env = "ZAPIER_OUT"\nsources = ["zapier"]\n'
    )
    config = make_config(text)
    publishers = build_publishers(config, {"ZAPIER_OUT": "out-secret-e2e"}, now=clock.now)
    adapter = RecordingAdapter()
    bot = CrmBot(sqlite_url, config, [adapter], clock=clock, publishers=publishers)
    h = BotHarness(bot, adapter, clock)
    try:
        bot.ingest(
            [
                Mention(
                    source="zapier",
                    external_id="1861234567890",
                    platform="x",
                    author_handle="dee",
                    text="@acme is the app down? nothing loads",
                    posted_at=datetime(2026, 3, 2, 8, 55, tzinfo=UTC),
                    url="https://x.com/dee/status/1861234567890",
                )
            ]
        )
        await h.deliver()
        alert = adapter.of_kind("alert")[-1]
        said = await bot.inbound.thread_message(
            ANA, alert.destination, alert.ref, ">> Sorry Dee, we're on it!", "ev1"
        )
        assert said is not None and said.startswith("Sending r1 to X")
        assert await bot.publish_worker.drain() == 1
        await h.deliver()

        [envelope] = receiver.delivered.values()
        assert envelope["event"] == "reply.create"
        data = envelope["data"]
        assert "Sorry Dee, we're on it!" in data["text"]
        assert data["author"] == "ana"
        card = [p.card for p in adapter.of_kind("reply") if isinstance(p.card, ReplyCard)][-1]
        assert (card.state, card.url) == ("published", "https://x.example/s/1")
        assert receiver.refused == []
    finally:
        await bot.stop()


async def test_an_outbound_webhook_added_by_a_reload_takes_replies_without_a_restart(
    fake: FakePlatform, sqlite_url: str, clock: FakeClock
) -> None:
    receiver = WebhookReceiver(fake, "out-secret-e2e")
    before = TEST_CONFIG.replace(
        "[channels.support]\n", '[channels.support]\nreply_mode = "direct"\n'
    )
    after = before + (
        f'\n[sources.webhooks.outbound.zapier]\nurl = "{receiver.url}"\n'
        'secret_env = "ZAPIER_OUT"\nsources = ["zapier"]\n'
    )
    env = {"ZAPIER_OUT": "out-secret-e2e"}
    adapter = RecordingAdapter()
    config = make_config(before)
    bot = CrmBot(
        sqlite_url,
        config,
        [adapter],
        clock=clock,
        publishers=build_publishers(config, env, now=clock.now),
    )
    follow_publishers(bot, lambda c: build_publishers(c, env, now=clock.now))
    h = BotHarness(bot, adapter, clock)
    try:
        bot.ingest(
            [
                Mention(
                    source="zapier",
                    external_id="1861234567891",
                    platform="x",
                    author_handle="dee",
                    text="@acme is the app down?",
                    posted_at=datetime(2026, 3, 2, 8, 55, tzinfo=UTC),
                )
            ]
        )
        await h.deliver()
        refused = h.say("send 1 On it!", "ana")
        assert "outbound" in refused and "zapier" in refused  # says what to configure
        bot.apply_config(make_config(after))
        assert h.say("send 1 On it!", "ana").startswith("Sending r1 to X")
        assert await bot.publish_worker.drain() == 1
        [envelope] = receiver.delivered.values()
        assert envelope["event"] == "reply.create"
    finally:
        await bot.stop()
