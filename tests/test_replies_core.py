"""Replies that reach the customer, the platform-neutral core: reply modes, drafts and
approval, platform limits before approval, the publish worker's exactly-once rules, and
what first response time measures. The publisher here is a small in-memory platform (the
real clients are tested against loopback fakes in tests/test_publish_*.py)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from rich.console import Console
from sqlmodel import col, select

from bot.app import CrmBot
from bot.chat.console import ConsoleAdapter
from bot.config_loader import ConfigError
from bot.publishing import PublishWorker
from handlers.cards import ReplyCard
from handlers.clock import FakeClock
from handlers.errors import UserError
from handlers.events import Actor
from handlers.privacy import forget
from handlers.publish_port import OutboundReply, Published, PublishError, TextLimit
from handlers.reply_modes import replies_on, reply_warnings
from storage import replies as reply_store
from storage.models import Cycle, HandlingEvent, Staff
from storage.privacy import ERASED
from storage.replies import SocialReply
from storage.suggestions import Suggestion
from tests.conftest import (
    TEST_CONFIG,
    BotHarness,
    RecordingAdapter,
    make_config,
    mention,
    settle,
    suggestion_cards,
)
from tests.fakes.loop_clock import loop_clock

CONFIG = (
    TEST_CONFIG.replace(
        "[channels.support]\n", '[channels.support]\nreply_mode = "approve"\n'
    ).replace("[channels.social]\n", '[channels.social]\nreply_mode = "direct"\n')
    + """
[sources.bluesky.main]
queries = ["acme"]

[sources.webhooks.outbound.helpdesk]
url = "https://helpdesk.example/crmbot"
secret_env = "HELPDESK_SECRET"
sources = ["twitter"]
"""
)
ANA = Actor("console", "ana", "ana")
BEN = Actor("console", "ben", "ben")
LEAD = Actor("console", "lead", "lead")


@dataclass
class MemoryPlatform:
    """A publisher over an in-memory platform: ``posts`` is what the platform holds (by
    idempotency key), ``failures`` are raised by the next publish calls, ``land_then_hang``
    makes the next publish reach the platform and then never answer (a timeout)."""

    source_kind: str
    posts: dict[str, Published] = field(default_factory=dict)
    failures: list[PublishError] = field(default_factory=list)
    land_then_hang: bool = False
    publish_calls: int = 0
    find_calls: int = 0
    landed: asyncio.Event = field(default_factory=asyncio.Event)

    def limit(self, platform: str) -> TextLimit:
        if platform == "bluesky":
            return TextLimit(300, "graphemes")
        return TextLimit(280)

    async def publish(self, reply: OutboundReply) -> Published:
        self.publish_calls += 1
        if self.failures:
            raise self.failures.pop(0)
        n = len(self.posts) + 1
        posted = Published(f"p{n}", f"https://social.example/{reply.target.author_handle}/{n}")
        self.posts[reply.key] = posted
        if self.land_then_hang:
            self.land_then_hang = False
            self.landed.set()
            await asyncio.Event().wait()
        return posted

    async def find(self, reply: OutboundReply) -> Published | None:
        self.find_calls += 1
        return self.posts.get(reply.key)


@dataclass
class Replies:
    """A bot with publishers, its chat and its publish worker."""

    h: BotHarness
    webhook: MemoryPlatform
    bluesky: MemoryPlatform

    @property
    def bot(self) -> CrmBot:
        return self.h.bot

    @property
    def worker(self) -> PublishWorker:
        return self.h.bot.publish_worker

    def cards(self) -> list[ReplyCard]:
        return [p.card for p in self.h.adapter.of_kind("reply") if isinstance(p.card, ReplyCard)]

    def rows(self) -> list[SocialReply]:
        with self.bot.db.session() as session:
            return list(session.exec(select(SocialReply)).all())

    async def publish(self) -> int:
        done = await self.worker.drain()
        await self.h.deliver()
        return done


def _replies(url: str, clock: FakeClock, text: str = CONFIG) -> Iterator[Replies]:
    webhook, bluesky = MemoryPlatform("webhook"), MemoryPlatform("bluesky")
    adapter = RecordingAdapter()
    bot = CrmBot(
        url,
        make_config(text),
        [adapter],
        clock=clock,
        publishers={"webhook": webhook, "bluesky": bluesky},
    )
    yield Replies(BotHarness(bot, adapter, clock), webhook, bluesky)
    bot.ingestor.close()
    bot.db.dispose()


@pytest.fixture
def r(sqlite_url: str, clock: FakeClock) -> Iterator[Replies]:
    yield from _replies(sqlite_url, clock)


@pytest.fixture
def r_any_db(database_url: str, clock: FakeClock) -> Iterator[Replies]:
    yield from _replies(database_url, clock)


async def _alert(r: Replies, text: str, **kw: str) -> int:
    r.bot.ingest([mention(text, **kw)])
    await r.h.deliver()
    return r.h.adapter.of_kind("alert")[-1].card.conversation_id or 0


async def test_draft_approved_and_published_once_though_first_attempt_fails(
    r_any_db: Replies,
) -> None:
    r = r_any_db
    conv = await _alert(r, "the app is down again", author_handle="amy")  # -> support: approve
    told = await r.bot.inbound.send_reply(ANA, conv, "Sorry @amy, we're on it.")
    assert (
        told == f"Drafted r1 for #{conv}; a manager or admin must approve it before it goes to X."
    )
    await r.h.deliver()
    assert [(c.state, c.author, c.approvers) for c in r.cards()] == [
        ("awaiting", "ana", "a manager or admin")
    ]
    assert await r.worker.drain() == 0  # a draft is not published
    assert r.h.say("approve r1", "lead") == "Approved r1; sending it to X."
    r.webhook.failures.append(PublishError("X is rate limiting us", retry_after=120))
    assert await r.publish() == 0
    assert r.webhook.posts == {}
    (row,) = r.rows()
    assert (row.state, row.attempts, row.last_error) == ("queued", 1, "X is rate limiting us")
    r.h.clock.advance(seconds=60)
    assert await r.publish() == 0  # the platform's retry_after is honoured
    r.h.clock.advance(seconds=61)
    assert await r.publish() == 1
    assert await r.publish() == 0
    assert len(r.webhook.posts) == 1 and r.webhook.publish_calls == 2
    scraped = r.bot.metrics.exposition().decode()
    assert 'crmbot_replies_total{outcome="retried",source_kind="webhook"} 1.0' in scraped
    assert 'crmbot_replies_total{outcome="published",source_kind="webhook"} 1.0' in scraped
    published = r.cards()[-1]
    assert published.state == "published" and published.approver == "lead"
    assert published.url == "https://social.example/amy/1"
    with r.bot.db.session() as session:
        event = session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).one()
        assert event.detail == {"url": published.url, "reply_id": 1, "approver": "lead"}
        author = session.get(Staff, event.actor_id)
        assert author is not None and author.name == "ana"  # credited to who wrote it


async def test_the_author_of_a_draft_cannot_approve_it(r: Replies) -> None:
    conv = await _alert(r, "outage on login")
    assert r.h.say(f"send {conv} We are looking into it.", "lead").startswith("Drafted r1")
    assert r.h.say("approve r1", "lead") == "You wrote this draft; someone else must approve it."
    assert r.h.say("approve r1", "ben") == "Only a manager or admin may review r1."
    assert [row.state for row in r.rows()] == ["awaiting"]
    assert r.h.say("drafts", "lead") == "No drafts are waiting for you."
    with pytest.raises(UserError, match="someone else must approve"):
        await r.bot.inbound.review_reply(LEAD, 1, "approve", delivery_id="press-1")


async def test_a_reply_that_may_have_reached_the_platform_is_found_not_published_twice(
    r: Replies,
) -> None:
    conv = await _alert(r, "hello @acme", author_handle="bo")  # -> social: direct
    r.h.say(f"send {conv} Hi Bo, thanks!", "ana")
    r.webhook.land_then_hang = True  # reaches the platform, then never answers
    with loop_clock() as loop_time:
        attempt = asyncio.create_task(r.worker.drain())
        await r.webhook.landed.wait()
        loop_time.advance(r.worker.call_timeout + 1)  # the call times out
        assert await attempt == 0
    (row,) = r.rows()
    assert row.state == "queued" and row.post_started_at is not None
    r.h.clock.advance(hours=2)
    assert await r.publish() == 1
    assert r.webhook.publish_calls == 1 and r.webhook.find_calls == 1
    assert len(r.webhook.posts) == 1
    assert r.cards()[-1].url == "https://social.example/bo/1"


async def test_a_worker_that_died_mid_publish_leaves_a_reply_the_next_one_finds(
    r: Replies,
) -> None:
    conv = await _alert(r, "hello @acme", author_handle="cy")
    r.h.say(f"send {conv} Hi Cy!", "ana")
    now = r.h.clock.now()
    with r.bot.db.session() as session:  # what a replica that died mid-call leaves behind
        assert reply_store.claim(session, 1, "dead-replica", now, timedelta(minutes=3))
        row = reply_store.get(session, 1)
        assert row is not None
        row.post_started_at = now
        r.webhook.posts[row.key] = Published("p9", "https://social.example/cy/9")
        session.add(row)
    assert await r.publish() == 0  # its claim still holds
    r.h.clock.advance(minutes=4)
    assert await r.publish() == 1
    assert (r.webhook.publish_calls, r.webhook.find_calls) == (0, 1)
    assert r.rows()[0].url == "https://social.example/cy/9"


async def test_an_over_long_reply_is_refused_before_approval_with_the_limit(r: Replies) -> None:
    conv = await _alert(r, "acme is down for me", source="bluesky", platform="bluesky")
    text = "a" * 312
    with pytest.raises(UserError) as refused:
        await r.bot.inbound.send_reply(ANA, conv, text)
    assert refused.value.reason == "Bluesky allows 300 characters; this reply is 312 — cut 12."
    await r.h.deliver()
    assert r.rows() == [] and r.cards() == []


async def test_an_edit_at_approval_is_checked_against_the_limit(r: Replies) -> None:
    conv = await _alert(r, "acme is down for me", source="bluesky", platform="bluesky")
    await r.bot.inbound.send_reply(ANA, conv, "We're on it.")
    told = r.h.exec("approve r1 " + "é" * 301, "lead").text
    assert told == "Bluesky allows 300 characters; this reply is 301 — cut 1."
    assert r.rows()[0].state == "awaiting"
    assert r.h.say("approve r1 We're on it, fixed by noon.", "lead").startswith("Approved r1")
    assert await r.publish() == 1
    assert r.rows()[0].text == "We're on it, fixed by noon."


async def test_reply_mode_off_refuses_and_says_how_to_turn_it_on(r: Replies) -> None:
    conv = await _alert(r, "what is your enterprise plan pricing?")  # -> sales: off
    told = r.h.say(f"send {conv} It is 10 dollars.", "ana")
    assert told.startswith(f"Replies from chat are off for #{conv}, so nothing was sent.")
    assert '[channels.sales] reply_mode = "direct" or "approve"' in told
    assert r.rows() == []


async def test_no_publisher_for_the_source_is_named(r: Replies) -> None:
    conv = await _alert(r, "hello @acme", source="typeform")
    told = r.h.say(f"send {conv} hi", "ana")
    assert told == (
        "Replies to typeform can't be published: no publisher is configured. An admin sets "
        'up an outbound webhook for it ([sources.webhooks.outbound.NAME] sources = ["typeform"]); '
        "see docs/replies.md."
    )
    r.bot.ctx.publishers = {}
    told = r.h.say(f"send {await _alert(r, 'hi @acme', source='bluesky', platform='bluesky')} hi")
    assert told.startswith("Replies to bluesky can't be published: no publisher is configured.")
    assert "a Bluesky account to reply from ([sources.bluesky.NAME])" in told


async def test_send_command_publishes_and_first_response_is_the_publish_time(r: Replies) -> None:
    conv = await _alert(r, "hello @acme", author_handle="dee")
    received = r.h.clock.now()
    r.h.clock.advance(minutes=5)
    told = r.h.say(f"send #{conv} Hi Dee, it's fixed — sorry!", "ana")
    assert told == f"Sending r1 to X; its link will appear in the thread of #{conv}."
    with r.bot.db.session() as session:
        assert (
            session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).all() == []
        )
    r.h.clock.advance(minutes=2)
    assert await r.publish() == 1
    assert r.rows()[0].text == "Hi Dee, it's fixed — sorry!"  # typed as is, quotes and all
    with r.bot.db.session() as session:
        cycle = session.exec(select(Cycle).where(Cycle.conversation_id == conv)).one()
        assert cycle.first_response_at == received + timedelta(minutes=7)
        assert cycle.first_response_s == 7 * 60
    status = r.h.adapter.of_kind("update")[-1].card
    assert "replied by @ana on X" in getattr(status, "line", "")


async def test_a_prefixed_thread_message_is_a_reply_and_the_rest_stays_internal(
    r: Replies,
) -> None:
    conv = await _alert(r, "hello @acme", author_handle="eve")
    alert = r.h.adapter.of_kind("alert")[-1]
    channel, thread = alert.destination, alert.ref
    said = await r.bot.inbound.thread_message(ANA, channel, thread, "checking the logs", "ev1")
    assert said is None  # internal: not a reply, nothing counted
    said = await r.bot.inbound.thread_message(ANA, channel, thread, ">> Hi Eve, fixed!", "ev2")
    assert said == f"Sending r1 to X; its link will appear in the thread of #{conv}."
    again = await r.bot.inbound.thread_message(ANA, channel, thread, ">> Hi Eve, fixed!", "ev2")
    assert again is None  # a redelivered event is acted on once
    assert [row.text for row in r.rows()] == ["Hi Eve, fixed!"]
    with r.bot.db.session() as session:
        assert (
            session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).all() == []
        )


async def test_with_replies_off_thread_messages_count_as_replies_as_before(
    sqlite_url: str, clock: FakeClock
) -> None:
    for r in _replies(sqlite_url, clock, TEST_CONFIG):
        conv = await _alert(r, "hello @acme")
        alert = r.h.adapter.of_kind("alert")[-1]
        said = await r.bot.inbound.thread_message(ANA, alert.destination, alert.ref, "done", "e1")
        assert said == f"Recorded your reply on #{conv} and assigned it to you."
        with pytest.raises(UserError, match="Replies from chat are off"):
            await r.bot.inbound.thread_message(ANA, alert.destination, alert.ref, ">> hi", "e2")


async def test_claiming_a_due_reply_is_won_once(r_any_db: Replies) -> None:
    r = r_any_db
    conv = await _alert(r, "hello @acme")
    r.h.say(f"send {conv} hi", "ana")
    now, ttl = r.h.clock.now(), timedelta(minutes=1)
    with r.bot.db.session() as session:
        assert reply_store.due_ids(session, now) == [1]
        assert reply_store.claim(session, 1, "replica-a", now, ttl)
    with r.bot.db.session() as session:
        assert not reply_store.claim(session, 1, "replica-b", now, ttl)
        assert reply_store.due_ids(session, now) == []
    later = now + ttl
    with r.bot.db.session() as session:
        assert reply_store.claim(session, 1, "replica-b", later, ttl)  # the claim ran out


async def test_suggestion_cards_carry_the_reply_mode_and_use_means_send_when_on(
    sqlite_url: str, clock: FakeClock
) -> None:
    for r in _replies(sqlite_url, clock, CONFIG + "\n[suggestions]\nenabled = true\n"):
        r.bot.ingest([mention("hello @acme"), mention("pricing of the enterprise plan?")])
        await settle(r.h)
        cards = {c.conversation_id: c for c in suggestion_cards(r.h)}
        assert {n: c.reply_mode for n, c in cards.items()} == {1: "direct", 2: "off"}
        sent = await r.bot.inbound.suggestion(ANA, "use", cards[1].suggestion_id)
        assert sent.startswith("Sending r1 to X")
        recorded = await r.bot.inbound.suggestion(ANA, "use", cards[2].suggestion_id)
        assert "crmbot published nothing (replies from chat are off here)" in recorded
        assert await r.publish() == 1
        with r.bot.db.session() as session:
            used = session.exec(select(Suggestion).where(col(Suggestion.used_by).is_not(None)))
            assert len(used.all()) == 2
            published = session.exec(select(SocialReply.suggestion_id)).all()
            assert published == [cards[1].suggestion_id]


async def test_the_console_shows_each_step_of_a_reply(sqlite_url: str, clock: FakeClock) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(Console(file=out, width=160, highlight=False))
    webhook = MemoryPlatform("webhook")
    bot = CrmBot(
        sqlite_url, make_config(CONFIG), [console], clock=clock, publishers={"webhook": webhook}
    )
    try:
        bot.ingest([mention("the site is down", author_handle="fay")])
        await bot.dispatcher.drain()
        lead = bot.command(LEAD, "send 1 Hi Fay, it's back up.")
        assert lead.text.startswith("Drafted r1")
        await bot.dispatcher.drain()
        assert "reply r1 by @lead for X, waiting for a manager or admin:" in out.getvalue()
        assert "/crm approve r1 [edited text] · /crm reject r1" in out.getvalue()
        assert bot.command(ANA, "approve r1").text == "Only a manager or admin may review r1."
        assert bot.command(LEAD, "drafts").text == "No drafts are waiting for you."
        # the author may withdraw their own draft
        assert bot.command(LEAD, "reject r1").text == "Rejected r1; nothing was sent."
        await bot.dispatcher.drain()
        assert "reply r1 by @lead rejected by @lead; nothing was sent." in out.getvalue()
        assert bot.command(ANA, "send 1 Fixed now, sorry!").text.startswith("Drafted r2")
        assert bot.command(LEAD, "approve r2").text == "Approved r2; sending it to X."
        assert await bot.publish_worker.drain() == 1
        await bot.dispatcher.drain()
        assert "reply r2 by @ana published on X: https://social.example/fay/1" in out.getvalue()
    finally:
        bot.ingestor.close()
        bot.db.dispose()


def test_bad_reply_settings_name_their_key_and_check_config_warns_of_missing_publishers() -> None:
    with pytest.raises(ConfigError, match=r"channels\.support\.reply_mode"):
        make_config(
            TEST_CONFIG.replace("[channels.support]\n", '[channels.support]\nreply_mode = "on"\n')
        )
    with pytest.raises(
        ConfigError, match=r"replies\.approvers\[0\]: unknown role or staff member 'bos'"
    ):
        make_config(TEST_CONFIG + '\n[replies]\napprovers = ["bos"]\n')
    config = make_config(CONFIG)
    assert replies_on(config) and not replies_on(make_config(TEST_CONFIG))
    assert reply_warnings(config, {"bluesky", "webhook"}) == []
    assert reply_warnings(config, {"webhook"}) == [
        f"channels.{name}: reply_mode is on but bluesky has no publisher configured; replies "
        "to those mentions will be refused (see docs/replies.md)"
        for name in ("social", "support")
    ]
    assert "no publisher is configured" in reply_warnings(config, set())[0]
    polled = make_config(
        CONFIG
        + '\n[sources.mastodon.fosstodon]\napi_base_url = "https://fosstodon.org"\nhashtags = ["acme"]\n'
    )
    assert reply_warnings(polled, {"bluesky", "webhook", "mastodon"}) == [
        "sources.mastodon.fosstodon: no token_env, so replies to its mentions can't be "
        "published (set token_env to a variable holding a token with write:statuses)"
    ]


async def test_forgetting_the_customer_withdraws_unpublished_replies(r: Replies) -> None:
    conv = await _alert(r, "the app is down", author_handle="gus")  # approve
    await r.bot.inbound.send_reply(ANA, conv, "Hi Gus, sorry about that")
    forget(r.bot.db, r.h.clock, "gus", None, "lead")
    (row,) = r.rows()
    assert (row.state, row.text) == ("rejected", ERASED)
    assert r.h.say("approve r1", "lead") == "r1 is rejected; only drafts are reviewed."
    assert await r.publish() == 0 and r.webhook.publish_calls == 0


async def test_a_redelivered_approve_press_gets_the_first_answer(r: Replies) -> None:
    conv = await _alert(r, "the app is down")
    sent = await r.bot.inbound.send_reply(ANA, conv, "On it!", delivery_id="send-1")
    with pytest.raises(UserError) as resent:
        await r.bot.inbound.send_reply(ANA, conv, "On it!", delivery_id="send-1")
    assert resent.value.reason == sent and len(r.rows()) == 1
    first = await r.bot.inbound.review_reply(LEAD, 1, "approve", delivery_id="press-1")
    with pytest.raises(UserError) as redelivered:
        await r.bot.inbound.review_reply(LEAD, 1, "approve", delivery_id="press-1")
    assert first == redelivered.value.reason == "Approved r1; sending it to X."


async def test_a_draft_is_not_approved_once_replies_were_turned_off(r: Replies) -> None:
    conv = await _alert(r, "the app is down")
    await r.bot.inbound.send_reply(ANA, conv, "On it!")
    r.bot.apply_config(make_config(TEST_CONFIG))
    told = r.h.say("approve r1", "lead")
    assert told.startswith(f"Replies from chat are off for #{conv}, so nothing was sent.")
    assert r.h.say("reject r1", "lead") == "Rejected r1; nothing was sent."
