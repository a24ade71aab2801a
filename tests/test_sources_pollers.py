"""Pollers against loopback fakes of the platforms, serving recorded payloads in their real
formats (tests/fixtures/sources). The real client libraries do the HTTP: httpx+feedparser,
Mastodon.py, asyncpraw and atproto. Jobs are called directly; time is a FakeClock."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from bot.app import CrmBot
from bot.scheduler import make_scheduler
from bot.sources import polling
from bot.sources.polling import PollingRuntime, poll_job, schedule_pollers
from handlers.cards import NoticeCard
from handlers.config_sources import SourcesConfig
from handlers.events import Mention as MentionEvent
from storage import sources as cursor_store
from storage.models import Mention
from tests.conftest import BotHarness, RecordingAdapter, make_config
from tests.fakes.social_api import (
    BlueskySession,
    FakePlatform,
    running_platform,
    serve_mastodon_instance,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    async with running_platform() as platform:
        yield platform


def configure(harness: BotHarness, sources: dict[str, Any], admin: str | None = "support") -> None:
    config = harness.bot.config
    alerts = config.alerts.model_copy(update={"admin_channel": admin})
    harness.bot.apply_config(
        config.model_copy(
            update={"alerts": alerts, "sources": SourcesConfig.model_validate(sources)}
        )
    )


def count_mentions(bot: CrmBot, platform: str | None = None) -> int:
    query = select(func.count()).select_from(Mention)
    if platform:
        query = query.where(col(Mention.platform) == platform)
    with bot.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def external_ids(bot: CrmBot) -> list[str]:
    with bot.db.engine.connect() as conn:
        return sorted(conn.execute(select(col(Mention.external_id))).scalars())


def state(bot: CrmBot, kind: str, name: str) -> cursor_store.SourceState:
    with bot.db.session() as session:
        return cursor_store.load_state(session, kind, name)


def notices(harness: BotHarness) -> list[str]:
    return [p.card.text for p in harness.adapter.posts if isinstance(p.card, NoticeCard)]


# -- RSS / Atom --------------------------------------------------------------------------


class Feed:
    """Serves a feed file with an ETag and Last-Modified, answering 304 when unchanged."""

    def __init__(self, fake: FakePlatform, path: str, file: str, content_type: str) -> None:
        self.file, self.etag, self.content_type = file, '"v1"', content_type
        self.modified = "Mon, 02 Mar 2026 08:40:00 GMT"
        fake.on("GET", path, self.handle)

    def publish(self, file: str, etag: str, modified: str) -> None:
        self.file, self.etag, self.modified = file, etag, modified

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        return web.Response(
            body=(FIXTURES / self.file).read_bytes(),
            headers={
                "Content-Type": self.content_type,
                "ETag": self.etag,
                "Last-Modified": self.modified,
            },
        )


async def test_rss_conditional_get_and_only_new_items(
    harness: BotHarness, fake: FakePlatform
) -> None:
    feed = Feed(fake, "/feed.xml", "rss_v1.xml", "application/rss+xml; charset=utf-8")
    configure(harness, {"rss": {"news": {"url": f"{fake.base}/feed.xml"}}})
    runtime = PollingRuntime(harness.bot, env={})

    first = await runtime.poll("rss", "news")
    assert (first.outcome, first.stored) == (
        "polled",
        2,
    )  # the February item is older than backfill
    assert state(harness.bot, "rss", "news").cursor["etag"] == '"v1"'

    harness.clock.advance(minutes=15)
    second = await runtime.poll("rss", "news")
    assert (second.outcome, second.stored) == ("polled", 0)
    sent = fake.seen("/feed.xml")[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 02 Mar 2026 08:40:00 GMT"
    assert "crmbot" in sent["User-Agent"]

    feed.publish("rss_v2.xml", '"v2"', "Mon, 02 Mar 2026 09:10:00 GMT")
    harness.clock.advance(minutes=15)
    third = await runtime.poll("rss", "news")
    assert (third.stored, third.duplicates) == (2, 2)
    assert external_ids(harness.bot) == [
        f"{fake.base}/feed.xml#post-8812",  # a guid that is not a URL is scoped to its feed
        "https://news.example.org/2026/03/acme-interview",
        "https://news.example.org/2026/03/acme-pricing",
        "https://news.example.org/2026/03/acme-routing",
    ]
    await harness.deliver()
    outage = [
        p.card
        for p in harness.adapter.posts
        if getattr(p.card, "url", None) == "https://news.example.org/2026/03/acme-outage"
    ]
    assert outage and getattr(outage[0], "platform", None) == "rss"
    await runtime.close()


async def test_atom_feed_with_keyword_filter(harness: BotHarness, fake: FakePlatform) -> None:
    Feed(fake, "/acme.atom", "atom.xml", "application/atom+xml")
    configure(
        harness,
        {"rss": {"reviews": {"url": f"{fake.base}/acme.atom", "keywords": ["PRICING"]}}},
    )
    runtime = PollingRuntime(harness.bot, env={})
    report = await runtime.poll("rss", "reviews")
    assert report.stored == 1
    with harness.bot.db.engine.connect() as conn:
        row = conn.execute(select(Mention)).one()._mapping
    assert row["external_id"] == "tag:reviews.example.com,2026:review-4411"
    assert row["text"] == "Three stars: Acme Tracker\n\nGood app, but the pricing is steep."
    assert row["lang"] == "de"
    assert row["posted_at"] == datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
    await runtime.close()


async def test_not_a_feed_is_a_clear_error(harness: BotHarness, fake: FakePlatform) -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Login</body></html>", content_type="text/html")

    fake.on("GET", "/feed", html)
    configure(harness, {"rss": {"blog": {"url": f"{fake.base}/feed"}}})
    runtime = PollingRuntime(harness.bot, env={})
    report = await runtime.poll("rss", "blog")
    assert report.outcome == "failed"
    assert report.error is not None and "did not answer with an RSS or Atom feed" in report.error
    await runtime.close()


async def test_restart_in_the_middle_of_a_feed_resumes_without_duplicates(
    database_url: str, clock: Any, fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = Feed(fake, "/feed.xml", "rss_v1.xml", "application/rss+xml")

    def start_bot() -> tuple[CrmBot, RecordingAdapter]:
        adapter = RecordingAdapter()
        bot = CrmBot(database_url, make_config(), [adapter], clock=clock)
        harness = BotHarness(bot, adapter, clock)
        configure(harness, {"rss": {"news": {"url": f"{fake.base}/feed.xml"}}})
        return bot, adapter

    bot, _ = start_bot()
    runtime = PollingRuntime(bot, env={})
    assert (await runtime.poll("rss", "news")).stored == 2

    # the feed grows; the process dies after ingest committed but before the cursor was saved
    feed.publish("rss_v2.xml", '"v2"', "Mon, 02 Mar 2026 09:10:00 GMT")
    clock.advance(minutes=15)
    real_save = cursor_store.save_state

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(cursor_store, "save_state", crash)
    crashed = await runtime.poll("rss", "news")
    assert crashed.outcome == "store-failed"
    assert count_mentions(bot) == 4
    assert state(bot, "rss", "news").cursor["etag"] == '"v1"'  # the old cursor survived
    await runtime.close()
    bot.ingestor.close()
    bot.db.dispose()

    # restart: a new process on the same database
    monkeypatch.setattr(cursor_store, "save_state", real_save)
    bot, _ = start_bot()
    runtime = PollingRuntime(bot, env={})
    clock.advance(minutes=15)
    resumed = await runtime.poll("rss", "news")
    assert fake.seen("/feed.xml")[-1].headers["If-None-Match"] == '"v1"'
    assert (resumed.outcome, resumed.stored, resumed.duplicates) == ("polled", 0, 4)
    assert count_mentions(bot) == 4
    assert len(set(external_ids(bot))) == 4
    assert state(bot, "rss", "news").cursor["etag"] == '"v2"'
    clock.advance(minutes=15)
    assert (await runtime.poll("rss", "news")).stored == 0  # and now a 304
    await runtime.close()
    bot.ingestor.close()
    bot.db.dispose()


# -- a broken source ---------------------------------------------------------------------


async def test_broken_source_tells_admins_once_then_recovery_once(
    harness: BotHarness, fake: FakePlatform
) -> None:
    Feed(fake, "/feed.xml", "rss_v1.xml", "application/rss+xml")
    configure(
        harness,
        {
            "notify_after_failures": 3,
            "max_backoff": "8m",
            "rss": {"news": {"url": f"{fake.base}/feed.xml", "every": "1m"}},
        },
    )
    runtime = PollingRuntime(harness.bot, env={})
    fake.faults = [web.Response(status=500, text="boom") for _ in range(100)]
    outcomes = []
    for _ in range(40):  # 40 minutes of one-minute polls against a failing server
        outcomes.append((await runtime.poll("rss", "news")).outcome)
        harness.clock.advance(minutes=1)
    await harness.deliver()
    broken = notices(harness)
    assert len(broken) == 1
    assert "Source rss 'news' is failing: HTTP 500 from 127.0.0.1" in broken[0]
    assert [p.destination for p in harness.adapter.posts] == ["support"]
    # backoff: 1, 2, 4, then capped at 8 minutes between attempts
    attempts = outcomes.count("failed")
    assert attempts == len(fake.requests)
    assert 6 <= attempts <= 9
    assert outcomes[:8] == ["failed", "failed", "waiting", "failed"] + ["waiting"] * 3 + ["failed"]
    current = state(harness.bot, "rss", "news")
    assert current.failures == attempts and current.broken_since is not None

    fake.faults.clear()
    recovered = None
    for _ in range(10):
        report = await runtime.poll("rss", "news")
        if report.outcome == "polled":
            recovered = report
            break
        harness.clock.advance(minutes=1)
    assert recovered is not None and recovered.stored == 2
    for _ in range(3):
        harness.clock.advance(minutes=1)
        await runtime.poll("rss", "news")
    await harness.deliver()
    texts = notices(harness)
    assert len(texts) == 2
    assert "Source rss 'news' has recovered" in texts[1]
    assert state(harness.bot, "rss", "news").broken_since is None
    await runtime.close()


async def test_retry_after_is_honoured(harness: BotHarness, fake: FakePlatform) -> None:
    Feed(fake, "/feed.xml", "rss_v1.xml", "application/rss+xml")
    configure(harness, {"rss": {"news": {"url": f"{fake.base}/feed.xml", "every": "1m"}}})
    runtime = PollingRuntime(harness.bot, env={})
    fake.faults = [web.Response(status=429, headers={"Retry-After": "600"})]
    report = await runtime.poll("rss", "news")
    assert report.outcome == "failed" and report.error and "slow down" in report.error
    assert state(harness.bot, "rss", "news").next_attempt_at == harness.clock.now() + timedelta(
        seconds=600
    )
    harness.clock.advance(minutes=9)
    assert (await runtime.poll("rss", "news")).outcome == "waiting"
    assert len(fake.requests) == 1
    harness.clock.advance(minutes=1)
    assert (await runtime.poll("rss", "news")).outcome == "polled"
    await runtime.close()


async def test_no_admin_channel_still_notifies_nobody_twice(
    harness: BotHarness, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    configure(
        harness,
        {"notify_after_failures": 1, "rss": {"news": {"url": f"{fake.base}/gone.xml"}}},
        admin=None,
    )
    runtime = PollingRuntime(harness.bot, env={})
    assert (await runtime.poll("rss", "news")).outcome == "failed"
    await harness.deliver()
    assert notices(harness) == []
    assert "no alerts.admin_channel configured" in caplog.text
    assert state(harness.bot, "rss", "news").broken_since is not None
    await runtime.close()


# -- Mastodon ----------------------------------------------------------------------------


def mastodon_fake(fake: FakePlatform, token: str) -> None:
    pages = {
        None: json.loads((FIXTURES / "mastodon_tag_page1.json").read_text()),
        "113900000000000003": json.loads((FIXTURES / "mastodon_tag_page2.json").read_text()),
    }

    async def tag(request: web.Request) -> web.Response:
        return web.json_response(pages.get(request.query.get("min_id"), []))

    async def search(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        assert request.query["type"] == "statuses"
        if request.query.get("min_id"):
            return web.json_response({"accounts": [], "hashtags": [], "statuses": []})
        return web.json_response(json.loads((FIXTURES / "mastodon_search.json").read_text()))

    fake.on("GET", "/api/v1/timelines/tag/acme", tag)
    fake.on("GET", "/api/v2/search", search)
    serve_mastodon_instance(fake)


async def test_mastodon_hashtags_and_search_resume_from_min_id(
    harness: BotHarness, fake: FakePlatform
) -> None:
    mastodon_fake(fake, "tok-123")
    configure(
        harness,
        {
            "mastodon": {
                "main": {
                    "api_base_url": fake.base,
                    "token_env": "MASTODON_TOKEN",
                    "hashtags": ["#Acme"],
                    "queries": ["acme logistics"],
                }
            }
        },
    )
    env = {"MASTODON_TOKEN": "tok-123"}
    runtime = PollingRuntime(harness.bot, env=env)
    first = await runtime.poll("mastodon", "main")
    assert (first.outcome, first.stored) == ("polled", 3), first
    cursor = state(harness.bot, "mastodon", "main").cursor
    assert cursor == {"tag:acme": "113900000000000003", "q:acme logistics": "113900000000000007"}
    with harness.bot.db.engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
    jane = rows["https://mastodon.example/users/janeroe/statuses/113900000000000003"]
    assert jane.text == "Is #Acme down for anyone else? Tracking is not working."
    bob = rows["https://fosstodon.example/users/bob/statuses/113900000000000002"]
    assert bob.text.startswith("CW: product talk\nLoving the new #acme routing beta & its map")
    await runtime.close()

    # a restart: a fresh runtime reads on from the stored min_id
    harness.clock.advance(minutes=5)
    runtime = PollingRuntime(harness.bot, env=env)
    second = await runtime.poll("mastodon", "main")
    assert second.stored == 2
    tag_requests = fake.seen("/api/v1/timelines/tag/acme")
    assert "min_id" not in tag_requests[0].query
    assert tag_requests[1].query["min_id"] == "113900000000000003"
    assert tag_requests[1].query["limit"] == "40"
    assert fake.seen("/api/v2/search")[-1].query["min_id"] == "113900000000000007"
    assert state(harness.bot, "mastodon", "main").cursor["tag:acme"] == "113900000000000005"
    with harness.bot.db.engine.connect() as conn:
        handles = set(conn.execute(select(col(Mention.platform))).scalars())
    assert handles == {"mastodon"}
    await runtime.close()


async def test_mastodon_bad_token_names_the_variable_not_the_token(
    harness: BotHarness, fake: FakePlatform
) -> None:
    mastodon_fake(fake, "right-token")
    configure(
        harness,
        {
            "notify_after_failures": 1,
            "mastodon": {
                "main": {"api_base_url": fake.base, "token_env": "MASTO_TOK", "queries": ["acme"]}
            },
        },
    )
    runtime = PollingRuntime(harness.bot, env={"MASTO_TOK": "wrong-token-xyz"})
    report = await runtime.poll("mastodon", "main")
    assert report.error == "127.0.0.1 refused the access token (check MASTO_TOK)"
    await harness.deliver()
    assert len(notices(harness)) == 1 and "wrong-token-xyz" not in notices(harness)[0]
    await runtime.close()


async def test_mastodon_rate_limit_waits_for_the_reset(
    harness: BotHarness, fake: FakePlatform
) -> None:
    mastodon_fake(fake, "tok")
    configure(harness, {"mastodon": {"m": {"api_base_url": fake.base, "hashtags": ["acme"]}}})
    reset = datetime.fromtimestamp(time.time() + 600, UTC).isoformat().replace("+00:00", "Z")
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset,
    }
    fake.faults = [
        web.json_response({"error": "Too many requests"}, status=429, headers=headers)
        for _ in range(3)
    ]
    runtime = PollingRuntime(harness.bot, env={})
    report = await runtime.poll("mastodon", "m")
    assert report.error == "127.0.0.1 rate limit reached"
    next_attempt = state(harness.bot, "mastodon", "m").next_attempt_at
    assert next_attempt is not None
    assert 590 <= (next_attempt - harness.clock.now()).total_seconds() <= 605
    await runtime.close()


async def test_missing_secret_env_is_named(harness: BotHarness) -> None:
    configure(harness, {"reddit": {"r": {"subreddits": ["acme"]}}})
    runtime = PollingRuntime(harness.bot, env={})
    report = await runtime.poll("reddit", "r")
    assert report.error == "environment variable REDDIT_CLIENT_ID is not set"
    await runtime.close()


# -- Reddit ------------------------------------------------------------------------------


def reddit_fake(fake: FakePlatform) -> dict[str, Any]:
    served = {"listing": "reddit_new_1.json"}

    async def token(request: web.Request) -> web.Response:
        expected = base64.b64encode(b"rid:rsecret").decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": 401, "message": "Unauthorized"}, status=401)
        form = await request.post()
        assert form["grant_type"] == "client_credentials"
        return web.json_response(
            {
                "access_token": "eyJ-reddit-token",
                "token_type": "bearer",
                "expires_in": 86400,
                "scope": "*",
            }
        )

    async def new(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "bearer eyJ-reddit-token"
        return web.json_response(json.loads((FIXTURES / served["listing"]).read_text()))

    fake.on("POST", "/api/v1/access_token", token)
    fake.on("GET", "/r/acme+logistics/new", new)
    return served


async def test_reddit_new_posts_with_cursor(harness: BotHarness, fake: FakePlatform) -> None:
    served = reddit_fake(fake)
    configure(
        harness,
        {
            "reddit": {
                "main": {
                    "subreddits": ["acme", "r/logistics"],
                    "oauth_url": fake.base,
                    "reddit_url": fake.base,
                    "user_agent": "crmbot-test/1.0 by u/acme",
                }
            }
        },
    )
    env = {"REDDIT_CLIENT_ID": "rid", "REDDIT_CLIENT_SECRET": "rsecret"}
    runtime = PollingRuntime(harness.bot, env=env)
    first = await runtime.poll("reddit", "main")
    assert (first.outcome, first.stored) == ("polled", 2), first
    assert state(harness.bot, "reddit", "main").cursor == {
        "new": {"created_utc": 1772441400.0, "names": ["t3_1b7x9k2"]}
    }
    listing = fake.seen("/r/acme+logistics/new")[0]
    assert listing.query["limit"] == "100"
    assert listing.headers["User-Agent"].startswith("crmbot-test/1.0 by u/acme")

    served["listing"] = "reddit_new_2.json"
    harness.clock.advance(minutes=5)
    second = await runtime.poll("reddit", "main")
    assert (second.stored, second.duplicates) == (1, 0)  # the cursor keeps old posts out
    with harness.bot.db.engine.connect() as conn:
        row = conn.execute(select(Mention).where(col(Mention.external_id) == "t3_1b7z0qq")).one()
    assert (
        row.url == "https://www.reddit.com/r/acme/comments/1b7z0qq/acme_enterprise_plan_worth_it?/"
    )
    assert row.text == "Acme enterprise plan worth it?\n\nWe have 40 trucks."
    assert len(fake.seen("/api/v1/access_token")) == 1  # the token is kept between polls

    fake.faults = [web.Response(status=429, headers={"Retry-After": "900"})]
    harness.clock.advance(minutes=5)
    limited = await runtime.poll("reddit", "main")
    assert limited.error == "Reddit rate limit reached (HTTP 429)"
    assert state(harness.bot, "reddit", "main").next_attempt_at == harness.clock.now() + timedelta(
        seconds=900
    )
    await runtime.close()


# -- Bluesky -----------------------------------------------------------------------------


def bluesky_fake(fake: FakePlatform) -> dict[str, Any]:
    served: dict[str, Any] = {"page": "bluesky_search_1.json", "unauthorized": False}
    access = BlueskySession(fake).access

    async def search(request: web.Request) -> web.Response:
        if served["unauthorized"] or request.headers.get("Authorization") != f"Bearer {access}":
            served["unauthorized"] = False
            return web.json_response(
                {"error": "ExpiredToken", "message": "Token has expired"}, status=401
            )
        return web.json_response(json.loads((FIXTURES / served["page"]).read_text()))

    fake.on("GET", "/xrpc/app.bsky.feed.searchPosts", search)
    return served


async def test_bluesky_search_with_since_cursor(harness: BotHarness, fake: FakePlatform) -> None:
    served = bluesky_fake(fake)
    configure(harness, {"bluesky": {"main": {"queries": ["acme"], "base_url": fake.base}}})
    env = {"BLUESKY_HANDLE": "acme.bsky.social", "BLUESKY_APP_PASSWORD": "app-pass-1"}
    runtime = PollingRuntime(harness.bot, env=env)
    first = await runtime.poll("bluesky", "main")
    assert (first.outcome, first.stored) == ("polled", 2), first
    query = fake.seen("/xrpc/app.bsky.feed.searchPosts")[0].query
    assert (query["q"], query["sort"], query["limit"]) == ("acme", "latest", "100")
    assert query["since"] == "2026-03-01T09:00:00Z"  # backfill: one day
    assert state(harness.bot, "bluesky", "main").cursor == {"q:acme": "2026-03-02T08:52:33.118Z"}

    served["page"] = "bluesky_search_2.json"
    harness.clock.advance(minutes=2)
    second = await runtime.poll("bluesky", "main")
    assert (second.stored, second.duplicates) == (1, 1)
    assert fake.seen("/xrpc/app.bsky.feed.searchPosts")[1].query["since"] == (
        "2026-03-02T08:47:33.118000Z"
    )
    assert len(fake.seen("/xrpc/com.atproto.server.createSession")) == 1
    with harness.bot.db.engine.connect() as conn:
        row = conn.execute(
            select(Mention).where(col(Mention.external_id).endswith("3lk2bq2vgzk2x"))
        ).one()
    assert row.url == "https://bsky.app/profile/ops-dan.bsky.social/post/3lk2bq2vgzk2x"
    assert row.lang == "en"

    # an expired session: the poll fails once, the next one logs in afresh
    served["unauthorized"] = True
    harness.clock.advance(minutes=2)
    failed = await runtime.poll("bluesky", "main")
    assert failed.error is not None and "BLUESKY_APP_PASSWORD" in failed.error
    harness.clock.advance(minutes=2)
    assert (await runtime.poll("bluesky", "main")).outcome == "polled"
    assert len(fake.seen("/xrpc/com.atproto.server.createSession")) == 2
    await runtime.close()


# -- the scheduled job -------------------------------------------------------------------


async def test_jobs_persist_and_reach_the_bot_through_the_registry(
    harness: BotHarness, fake: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    Feed(fake, "/feed.xml", "rss_v1.xml", "application/rss+xml")
    configure(
        harness,
        {
            "rss": {
                "news": {"url": f"{fake.base}/feed.xml", "every": "10m"},
                "off": {"url": f"{fake.base}/x.xml", "enabled": False},
            }
        },
    )
    scheduler = make_scheduler(harness.bot.db.engine)
    runtime = schedule_pollers(harness.bot, scheduler, env={})
    scheduler.start(paused=True)  # jobs go to the SQLAlchemy job store: they must pickle
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"source:rss:news"}
        job = jobs["source:rss:news"]
        assert job.func is poll_job and job.args == ("rss", "news")
        assert job.trigger.interval == timedelta(minutes=10)
        assert polling.current() is runtime

        await job.func(*job.args)  # what the scheduler would run
        assert count_mentions(harness.bot, "rss") == 2

        # a reload adds a source and changes an interval; unchanged jobs are left alone
        configure(
            harness,
            {
                "rss": {
                    "news": {"url": f"{fake.base}/feed.xml", "every": "20m"},
                    "more": {"url": f"{fake.base}/more.xml"},
                }
            },
        )
        runtime.sync_jobs()
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"source:rss:news", "source:rss:more"}
        assert jobs["source:rss:news"].trigger.interval == timedelta(minutes=20)

        # a source that left the config: its next run removes its job; a sync removes the rest
        configure(harness, {"rss": {"more": {"url": f"{fake.base}/more.xml"}}})
        await poll_job("rss", "news")
        assert [job.id for job in scheduler.get_jobs()] == ["source:rss:more"]
        configure(harness, {})
        runtime.sync_jobs()
        assert scheduler.get_jobs() == []
    finally:
        scheduler.shutdown(wait=False)
    await runtime.close()
    assert polling.current() is None
    # a job that fires after the bot stopped (a replica shutting down) polls nothing
    configure(harness, {"rss": {"news": {"url": f"{fake.base}/feed.xml"}}})
    fetched = len(fake.requests)
    stored = count_mentions(harness.bot, "rss")
    with caplog.at_level("WARNING", logger="bot.sources.polling"):
        await poll_job("rss", "news")
    assert len(fake.requests) == fetched and count_mentions(harness.bot, "rss") == stored
    assert "poller rss.news ran with no bot running; skipped" in caplog.messages


# -- what a reply needs --------------------------------------------------------------------


async def test_polled_mentions_carry_what_a_reply_needs(fake: FakePlatform) -> None:
    """Each poller stores the reply refs its publisher threads a reply with
    (handlers/publish_port.ReplyTarget.reply_ref)."""
    mastodon_fake(fake, "tok")
    bluesky_fake(fake)
    reddit_fake(fake)
    sources = SourcesConfig.model_validate(
        {
            "mastodon": {"m": {"api_base_url": fake.base, "hashtags": ["acme"]}},
            "bluesky": {"b": {"queries": ["acme"], "base_url": fake.base}},
            "reddit": {
                "r": {
                    "subreddits": ["acme", "logistics"],
                    "oauth_url": fake.base,
                    "reddit_url": fake.base,
                }
            },
        }
    )
    env = {
        "BLUESKY_HANDLE": "acme.bsky.social",
        "BLUESKY_APP_PASSWORD": "app-pass-1",
        "REDDIT_CLIENT_ID": "rid",
        "REDDIT_CLIENT_SECRET": "rsecret",
    }
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    refs: dict[str, dict[str, str]] = {}
    for kind, name in sources.pollers():
        config = sources.poller(kind, name)
        assert config is not None
        connector = polling.make_connector(kind, config, env)
        result = await connector.poll({}, now)
        await connector.close()
        for event in result.events:
            assert isinstance(event, MentionEvent)
            refs[event.external_id] = event.reply_ref

    assert refs["https://mastodon.example/users/janeroe/statuses/113900000000000003"] == {
        "id": "113900000000000003",
        "visibility": "public",
        "instance": "127.0.0.1",
    }
    bluesky = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lk2cy5qjts2a"
    cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hhe"
    assert refs[bluesky] == {"uri": bluesky, "cid": cid, "root_uri": bluesky, "root_cid": cid}
    assert refs["t3_1b7x9k2"] == {"fullname": "t3_1b7x9k2"}
