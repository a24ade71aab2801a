"""Publishers against loopback fakes of the platforms (tests/fakes/social_api.py), with
the real client libraries doing the HTTP: httpx for outbound webhooks, Mastodon.py,
atproto and asyncpraw. Each test asserts what the customer would see on the platform
(one reply, threaded under their post, mentioning them) or what staff would read in the
thread when it fails (the reason in words, the variable to check, never a secret)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.publish.bluesky import BlueskyPublisher, record_key
from bot.publish.mastodon import MastodonPublisher
from bot.publish.outbound import OutboundWebhook, subscribed
from bot.publish.reddit import RedditPublisher
from bot.publish.registry import build_publishers, close_publishers
from bot.sources.base import html_to_text
from handlers.clock import FakeClock
from handlers.config import CrmbotConfig
from handlers.config_sources import OutboundWebhookConfig, SourcesConfig
from handlers.publish_port import (
    OutboundReply,
    Published,
    PublishError,
    ReplyTarget,
    TextLimit,
)
from tests.fakes.social_api import (
    FakeBluesky,
    FakeMastodon,
    FakePlatform,
    FakeReddit,
    WebhookReceiver,
    running_platform,
)

SECRET = "s3cret-outbound-value"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakePlatform]:
    async with running_platform() as platform:
        yield platform


def _outbound(url: str, **extra: Any) -> OutboundWebhookConfig:
    return OutboundWebhookConfig.model_validate(
        {"url": url, "secret_env": "OUT_SECRET", "sources": ["zapier"], **extra}
    )


# -- outbound webhooks ------------------------------------------------------------------


async def test_outbound_webhook_is_signed_and_repeats_are_dropped(fake: FakePlatform) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    hook = OutboundWebhook(
        "helpdesk", _outbound(receiver.url), {"OUT_SECRET": SECRET}, now=FakeClock(NOW).now
    )
    data = {"contact": {"handle": "amy"}}
    first = await hook.send("lead.create", data, "lead-7")
    again = await hook.send("lead.create", data, "lead-7")
    await hook.close()

    assert receiver.refused == []
    assert list(receiver.delivered) == ["lead-7"]  # one lead at the receiver
    assert receiver.delivered["lead-7"] == {
        "event": "lead.create",
        "id": "lead-7",
        "sent_at": "2026-03-02T09:00:00Z",
        "data": data,
    }
    assert first.external_id == again.external_id == "msg-1"
    assert first.url == "https://x.example/s/1"
    seen = fake.seen("/hooks/crmbot")[0]
    assert seen.headers["Idempotency-Key"] == "lead-7"
    assert seen.headers["X-Crmbot-Event"] == "lead.create"


async def test_outbound_webhook_wrong_secret_is_refused_by_the_receiver(
    fake: FakePlatform,
) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    hook = OutboundWebhook("helpdesk", _outbound(receiver.url), {"OUT_SECRET": "other"})
    with pytest.raises(PublishError) as caught:
        await hook.send("reply.create", {"text": "hi"}, "reply-1")
    await hook.close()
    assert caught.value.permanent
    assert caught.value.reason == "127.0.0.1 answered HTTP 401: signature does not match"
    assert receiver.delivered == {}


async def test_outbound_webhook_429_is_retried_after_and_400_is_permanent(
    fake: FakePlatform,
) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    hook = OutboundWebhook("helpdesk", _outbound(receiver.url), {"OUT_SECRET": SECRET})
    fake.faults.append(
        web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "30"})
    )
    fake.faults.append(web.json_response({"error": "unknown source"}, status=422))
    fake.faults.append(web.Response(status=503, text="<html>down</html>", content_type="text/html"))
    with pytest.raises(PublishError) as limited:
        await hook.send("reply.create", {}, "reply-1")
    with pytest.raises(PublishError) as refused:
        await hook.send("reply.create", {}, "reply-1")
    with pytest.raises(PublishError) as down:
        await hook.send("reply.create", {}, "reply-1")
    await hook.close()
    assert (limited.value.permanent, limited.value.retry_after) == (False, 30.0)
    assert "HTTP 429" in limited.value.reason
    assert refused.value.permanent
    assert refused.value.reason == "127.0.0.1 answered HTTP 422: unknown source"
    assert not down.value.permanent
    assert down.value.reason == "127.0.0.1 answered HTTP 503"


async def test_outbound_webhook_missing_secret_names_the_variable(fake: FakePlatform) -> None:
    hook = OutboundWebhook("helpdesk", _outbound(f"{fake.base}/x"), {})
    with pytest.raises(PublishError) as caught:
        await hook.send("reply.create", {}, "reply-1")
    assert caught.value.permanent
    assert "OUT_SECRET is not set" in caught.value.reason
    assert fake.requests == []


async def test_outbound_webhook_unreachable_is_transient() -> None:
    hook = OutboundWebhook("helpdesk", _outbound("http://127.0.0.1:9"), {"OUT_SECRET": SECRET})
    with pytest.raises(PublishError) as caught:
        await hook.send("reply.create", {}, "reply-1")
    await hook.close()
    assert not caught.value.permanent
    assert caught.value.reason == "could not reach 127.0.0.1"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"url": "ftp://x", "secret_env": "S", "sources": ["zapier"]}, "expected an http(s) URL"),
        (
            {"url": "https://x.example", "secret_env": "abc def", "sources": ["z"]},
            "environment variable",
        ),
        ({"url": "https://x.example", "secret_env": "S"}, "sources: name the webhook sources"),
        (
            {"url": "https://x.example", "secret_env": "S", "events": ["reply.delete"]},
            "reply.create",
        ),
        (
            {
                "url": "https://x.example",
                "secret_env": "S",
                "sources": ["z"],
                "events": ["lead.create"],
            },
            'replies are sent only with "reply.create"',
        ),
    ],
)
def test_outbound_config_errors_name_the_key(table: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match="outbound") as caught:
        SourcesConfig.model_validate({"webhooks": {"outbound": {"desk": table}}})
    assert problem in str(caught.value)


def test_outbound_config_one_url_per_source() -> None:
    table = {"url": "https://x.example", "secret_env": "S", "sources": ["zapier"]}
    with pytest.raises(ValueError) as caught:
        SourcesConfig.model_validate({"webhooks": {"outbound": {"a": table, "b": table}}})
    assert "outbound.b.sources: replies to 'zapier' already go to outbound.a" in str(caught.value)
    config = SourcesConfig.model_validate({"webhooks": {"outbound": {"a": table}}})
    assert config.webhooks.reply_endpoint("zapier") is not None
    assert config.webhooks.reply_endpoint("forum") is None
    assert [n for n, _ in config.webhooks.event_endpoints("lead.create")] == ["a"]


# -- Mastodon ---------------------------------------------------------------------------

MASTODON_TOKEN = "mastodon-token-abc"


def _reply(
    target: ReplyTarget, text: str = "Sorry! We're on it.", key: str = "reply-1-k"
) -> OutboundReply:
    return OutboundReply(
        key=key, reply_id=1, conversation_id=7, target=target, text=text, author="ana"
    )


def _mastodon(fake: FakePlatform, token_env: str | None = "MASTO_TOKEN") -> MastodonPublisher:
    table = {"api_base_url": fake.base, "hashtags": ["acme"], "token_env": token_env}
    sources = SourcesConfig.model_validate({"mastodon": {"main": table}})
    return MastodonPublisher(sources.mastodon, {"MASTO_TOKEN": MASTODON_TOKEN})


def _mastodon_target(status: dict[str, Any], **ref: str) -> ReplyTarget:
    return ReplyTarget(
        source="mastodon",
        source_kind="mastodon",
        platform="mastodon",
        external_id=status["uri"],
        author_handle="janeroe@mastodon.example",
        url=status["url"],
        reply_ref=ref,
    )


async def test_mastodon_reply_is_threaded_mentions_the_author_and_stays_private(
    fake: FakePlatform,
) -> None:
    masto = FakeMastodon(fake, MASTODON_TOKEN)
    original = masto.original("113900000000000003", "janeroe", visibility="private")
    target = _mastodon_target(
        original, id="113900000000000003", visibility="private", instance="127.0.0.1"
    )
    publisher = _mastodon(fake)
    published = await publisher.publish(_reply(target))
    again = await publisher.publish(_reply(target))  # a retry inside Mastodon's key window
    await publisher.close()

    assert len(masto.posted) == 1
    status = masto.posted[0]
    assert status["in_reply_to_id"] == "113900000000000003"
    assert status["visibility"] == "private"
    assert html_to_text(status["content"]) == "@janeroe Sorry! We're on it."
    assert published == again == Published(status["uri"], status["url"])
    assert fake.seen("/api/v1/statuses")[0].headers["Idempotency-Key"] == "reply-1-k"


async def test_mastodon_without_local_id_resolves_the_post_and_direct_stays_direct(
    fake: FakePlatform,
) -> None:
    masto = FakeMastodon(fake, MASTODON_TOKEN)
    original = masto.original("113900000000000007", "janeroe", visibility="direct")
    publisher = _mastodon(fake)
    text = "@janeroe@mastodon.example thanks, fixed now"
    await publisher.publish(_reply(_mastodon_target(original), text=text))
    await publisher.close()

    assert fake.seen("/api/v2/search")[0].query["resolve"] == "1"
    [status] = masto.posted
    assert (status["in_reply_to_id"], status["visibility"]) == ("113900000000000007", "direct")
    assert html_to_text(status["content"]) == "@janeroe thanks, fixed now"  # mentioned once


async def test_mastodon_find_sees_an_earlier_attempt_so_no_second_post(
    fake: FakePlatform,
) -> None:
    masto = FakeMastodon(fake, MASTODON_TOKEN)
    original = masto.original("113900000000000003", "janeroe")
    target = _mastodon_target(original, id="113900000000000003", visibility="public")
    first = _mastodon(fake)
    published = await first.publish(_reply(target, text="Line one.\nLine two & more"))
    await first.close()
    masto.by_key.clear()  # hours later: Mastodon has forgotten the key

    restarted = _mastodon(fake)
    assert await restarted.find(_reply(target, text="Line one.\nLine two & more")) == published
    assert await restarted.find(_reply(target, text="Something else")) is None
    await restarted.close()
    assert len(masto.posted) == 1


async def test_mastodon_refused_token_names_the_variable_not_the_token(
    fake: FakePlatform,
) -> None:
    masto = FakeMastodon(fake, "another-token")
    original = masto.original("113900000000000003", "janeroe")
    target = _mastodon_target(original, id="113900000000000003", visibility="public")
    publisher = _mastodon(fake)
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(target))
    await publisher.close()
    assert caught.value.permanent
    assert "refused the access token (check MASTO_TOKEN" in caught.value.reason
    assert MASTODON_TOKEN not in caught.value.reason
    assert masto.posted == []


async def test_mastodon_without_token_env_cannot_reply(fake: FakePlatform) -> None:
    publisher = _mastodon(fake, token_env=None)
    target = _mastodon_target(FakeMastodon(fake, "x").original("1", "janeroe"))
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(target))
    assert caught.value.permanent
    assert "sources.mastodon.main has no token_env" in caught.value.reason
    assert fake.requests == []


async def test_mastodon_rate_limit_is_retried_at_the_reset(fake: FakePlatform) -> None:
    masto = FakeMastodon(fake, MASTODON_TOKEN)
    original = masto.original("113900000000000003", "janeroe")
    target = _mastodon_target(original, id="113900000000000003", visibility="public")
    reset = datetime.now(UTC) + timedelta(seconds=120)  # Mastodon.py reads it against its clock
    fake.faults.append(
        web.json_response(
            {"error": "Too many requests"},
            status=429,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.isoformat()},
        )
    )
    publisher = _mastodon(fake)
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(target))
    await publisher.close()
    assert not caught.value.permanent
    assert caught.value.retry_after is not None and 60 < caught.value.retry_after <= 121
    assert masto.posted == []


# -- Bluesky ----------------------------------------------------------------------------

JANE_DID = "did:plc:janeroe00000000000000000"
MENTION_URI = "at://did:plc:janeroe00000000000000000/app.bsky.feed.post/3lbmention222"
ROOT_URI = "at://did:plc:someoneelse0000000000000/app.bsky.feed.post/3lbroot222222"


def _bluesky(fake: FakePlatform, password: str = "app-pass-1") -> BlueskyPublisher:
    table = {"queries": ["acme"], "base_url": fake.base}
    sources = SourcesConfig.model_validate({"bluesky": {"main": table}})
    env = {"BLUESKY_HANDLE": "acme.bsky.social", "BLUESKY_APP_PASSWORD": password}
    return BlueskyPublisher(sources.bluesky, env, now=FakeClock(NOW).now)


def _bluesky_target() -> ReplyTarget:
    return ReplyTarget(
        source="bluesky",
        source_kind="bluesky",
        platform="bluesky",
        external_id=MENTION_URI,
        author_handle="jane.bsky.social",
        reply_ref={
            "uri": MENTION_URI,
            "cid": "bafyreimention",
            "root_uri": ROOT_URI,
            "root_cid": "bafyreiroot",
        },
    )


async def test_bluesky_reply_has_thread_refs_and_a_mention_facet_in_bytes(
    fake: FakePlatform,
) -> None:
    sky = FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    publisher = _bluesky(fake)
    text = "🎉 Thanks @jane.bsky.social, it's fixed!"
    published = await publisher.publish(_reply(_bluesky_target(), text=text))
    await publisher.close()

    assert sky.refused == []
    [(rkey, record)] = sky.records.items()
    assert record["text"] == text  # the author is mentioned once, where staff wrote it
    assert record["createdAt"] == "2026-03-02T09:00:00Z"
    strong_ref = {"$type": "com.atproto.repo.strongRef"}
    assert record["reply"]["parent"] == {**strong_ref, "uri": MENTION_URI, "cid": "bafyreimention"}
    assert record["reply"]["root"] == {**strong_ref, "uri": ROOT_URI, "cid": "bafyreiroot"}
    [facet] = record["facets"]
    # "🎉 Thanks " is 9 characters but 12 UTF-8 bytes (the emoji takes 4)
    assert (facet["index"]["byteStart"], facet["index"]["byteEnd"]) == (12, 29)
    assert facet["features"][0]["did"] == JANE_DID
    assert published == Published(
        sky.uri(rkey), f"https://bsky.app/profile/acme.bsky.social/post/{rkey}"
    )


async def test_bluesky_retry_makes_no_second_post_and_find_sees_the_first(
    fake: FakePlatform,
) -> None:
    sky = FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    first = _bluesky(fake)
    published = await first.publish(_reply(_bluesky_target()))
    await first.close()

    restarted = _bluesky(fake)  # the process died before it recorded the result
    assert await restarted.find(_reply(_bluesky_target())) == published
    assert await restarted.find(_reply(_bluesky_target(), key="another-reply")) is None
    assert await restarted.publish(_reply(_bluesky_target())) == published
    await restarted.close()
    assert len(sky.records) == 1
    [record] = sky.records.values()
    assert record["text"] == "@jane.bsky.social Sorry! We're on it."
    index = record["facets"][0]["index"]
    assert (index["byteStart"], index["byteEnd"]) == (0, 17)


async def test_bluesky_refused_login_names_the_variables_not_the_password(
    fake: FakePlatform,
) -> None:
    sky = FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    publisher = _bluesky(fake, password="wrong-secret-pw")
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_bluesky_target()))
    await publisher.close()
    assert caught.value.permanent
    assert caught.value.reason == (
        "Bluesky refused the login (check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD)"
    )
    assert sky.records == {}


async def test_bluesky_429_is_retried_after(fake: FakePlatform) -> None:
    FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    publisher = _bluesky(fake)
    await publisher.find(_reply(_bluesky_target()))  # logged in
    fake.faults.append(
        web.json_response(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            status=429,
            headers={"Retry-After": "45", "ratelimit-remaining": "0"},
        )
    )
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_bluesky_target()))
    await publisher.close()
    assert (caught.value.permanent, caught.value.retry_after) == (False, 45.0)


def test_bluesky_limit_counts_graphemes_and_record_keys_are_tids() -> None:
    limit = BlueskyPublisher({}, {}).limit("bluesky")
    family = "👩\u200d👩\u200d👧"
    assert limit.length(family * 300) == 300 and limit.excess(family * 301) == 1
    key = record_key("reply-1-k")
    assert key == record_key("reply-1-k") != record_key("reply-2-k")
    assert len(key) == 13 and key[0] in "234567abcdefghij"


# -- Reddit -----------------------------------------------------------------------------

REDDIT_APP = {"REDDIT_CLIENT_ID": "rid", "REDDIT_CLIENT_SECRET": "rsecret"}


def _reddit(fake: FakePlatform, **env: str) -> RedditPublisher:
    table = {"subreddits": ["acme"], "oauth_url": fake.base, "reddit_url": fake.base}
    sources = SourcesConfig.model_validate({"reddit": {"main": table}})
    return RedditPublisher(sources.reddit, {**REDDIT_APP, **env})


def _reddit_target(fullname: str = "t3_1b7z0qq") -> ReplyTarget:
    return ReplyTarget(
        source="reddit",
        source_kind="reddit",
        platform="reddit",
        external_id=fullname,
        author_handle="janeroe",
        reply_ref={"fullname": fullname},
    )


async def test_reddit_comment_under_the_post_with_a_script_app_user(fake: FakePlatform) -> None:
    reddit = FakeReddit(fake)
    publisher = _reddit(fake, REDDIT_USERNAME="acme_support", REDDIT_PASSWORD="user-pass-1")
    published = await publisher.publish(_reply(_reddit_target(), text="Sorry! **We're on it.**"))

    [comment] = reddit.comments
    assert (comment["parent_id"], comment["body"]) == ("t3_1b7z0qq", "Sorry! **We're on it.**")
    assert published == Published(
        "t1_kc00001", "https://www.reddit.com/r/acme/comments/1b7z0qq/post/kc00001/"
    )
    # a restart later: the comment is found, so the retry posts nothing
    assert (
        await publisher.find(_reply(_reddit_target(), text="Sorry! **We're on it.**")) == published
    )
    assert await publisher.find(_reply(_reddit_target("t3_other1"), text="Sorry!")) is None
    await publisher.close()
    assert len(reddit.comments) == 1


async def test_reddit_refresh_token_and_a_locked_post(fake: FakePlatform) -> None:
    reddit = FakeReddit(fake)
    reddit.locked.add("t3_1b7z0qq")
    publisher = _reddit(fake, REDDIT_REFRESH_TOKEN="refresh-tok-1")
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_reddit_target()))
    await publisher.close()
    assert caught.value.permanent
    assert caught.value.reason == "Reddit refused the comment: Comments are locked."


async def test_reddit_app_only_credentials_cannot_post(fake: FakePlatform) -> None:
    FakeReddit(fake)
    publisher = _reddit(fake)
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_reddit_target()))
    assert caught.value.permanent
    assert (
        "needs a Reddit user: set REDDIT_REFRESH_TOKEN, or REDDIT_USERNAME" in caught.value.reason
    )
    assert "read-only" in caught.value.reason
    assert fake.requests == []


async def test_reddit_wrong_password_names_the_variables_not_the_password(
    fake: FakePlatform,
) -> None:
    reddit = FakeReddit(fake)
    publisher = _reddit(fake, REDDIT_USERNAME="acme_support", REDDIT_PASSWORD="not-it-123")
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_reddit_target()))
    await publisher.close()
    assert caught.value.permanent
    assert "REDDIT_USERNAME/REDDIT_PASSWORD" in caught.value.reason
    assert "not-it-123" not in caught.value.reason
    assert reddit.comments == []


async def test_reddit_429_is_retried_after(fake: FakePlatform) -> None:
    FakeReddit(fake)
    publisher = _reddit(fake, REDDIT_REFRESH_TOKEN="refresh-tok-1")
    await publisher.find(_reply(_reddit_target()))  # holds a token now
    fake.faults.append(
        web.json_response(
            {"message": "Too Many Requests", "error": 429}, status=429, headers={"Retry-After": "7"}
        )
    )
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_reddit_target()))
    await publisher.close()
    assert (caught.value.permanent, caught.value.retry_after) == (False, 7.0)


# -- the registry and webhook sources ---------------------------------------------------


def _config(fake: FakePlatform, receiver: WebhookReceiver) -> CrmbotConfig:
    return CrmbotConfig.model_validate(
        {
            "sources": {
                "webhooks": {
                    "outbound": {
                        "zap": {
                            "url": receiver.url,
                            "secret_env": "OUT_SECRET",
                            "sources": ["zapier"],
                        }
                    }
                },
                "mastodon": {"m": {"api_base_url": fake.base, "hashtags": ["a"], "token_env": "T"}},
                "reddit": {"r": {"subreddits": ["acme"]}},
            }
        }
    )


async def test_registry_builds_publishers_and_a_webhook_reply_goes_out_signed(
    fake: FakePlatform,
) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    publishers = build_publishers(
        _config(fake, receiver), {"OUT_SECRET": SECRET}, now=FakeClock(NOW).now
    )
    assert sorted(publishers) == ["mastodon", "reddit", "webhook"]  # no Bluesky source
    assert publishers["mastodon"].limit("mastodon").max_length == 500
    assert publishers["webhook"].limit("x") == TextLimit(280)

    target = ReplyTarget(
        source="zapier",
        source_kind="webhook",
        platform="x",
        external_id="1790000000000000001",
        author_handle="janeroe",
        url="https://x.com/janeroe/status/1790000000000000001",
    )
    reply = OutboundReply(
        key="reply-9-k",
        reply_id=9,
        conversation_id=3,
        target=target,
        text="On it!",
        author="ana",
        approver="ben",
    )
    webhook = publishers["webhook"]
    assert await webhook.find(reply) is None  # the receiver dedupes: sending again is safe
    published = await webhook.publish(reply)
    assert await webhook.publish(reply) == published
    await close_publishers(publishers)

    assert published == Published("msg-1", "https://x.example/s/1")
    [envelope] = receiver.delivered.values()
    assert envelope["event"] == "reply.create"
    assert envelope["data"] == {
        "reply_id": 9,
        "conversation_id": 3,
        "text": "On it!",
        "author": "ana",
        "approver": "ben",
        "target": {
            "source": "zapier",
            "platform": "x",
            "id": "1790000000000000001",
            "author_handle": "janeroe",
            "url": "https://x.com/janeroe/status/1790000000000000001",
        },
    }


async def test_webhook_reply_without_an_outbound_webhook_says_what_to_configure(
    fake: FakePlatform,
) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    publishers = build_publishers(_config(fake, receiver), {"OUT_SECRET": SECRET})
    target = ReplyTarget("forum", "webhook", "forum", "post-1", "amy")
    with pytest.raises(PublishError) as caught:
        await publishers["webhook"].publish(_reply(target))
    await close_publishers(publishers)
    assert caught.value.permanent
    assert caught.value.reason == (
        'no outbound webhook takes replies to forum mentions: add sources = ["forum"] '
        "to a [sources.webhooks.outbound.NAME] table"
    )
    assert receiver.delivered == {}


async def test_bluesky_ended_session_is_retried_with_a_new_login(fake: FakePlatform) -> None:
    sky = FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    publisher = _bluesky(fake)
    assert await publisher.find(_reply(_bluesky_target())) is None  # logged in
    fake.faults.append(
        web.json_response({"error": "ExpiredToken", "message": "Token has expired"}, status=401)
    )
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(_bluesky_target()))
    assert not caught.value.permanent
    await publisher.publish(_reply(_bluesky_target()))
    await publisher.close()
    assert len(fake.seen("/xrpc/com.atproto.server.createSession")) == 2
    assert len(sky.records) == 1


async def test_lead_events_go_to_every_subscribed_webhook(fake: FakePlatform) -> None:
    receiver = WebhookReceiver(fake, SECRET)
    config = SourcesConfig.model_validate(
        {
            "webhooks": {
                "outbound": {
                    "crm": {
                        "url": receiver.url,
                        "secret_env": "OUT_SECRET",
                        "events": ["lead.create"],
                    },
                    "desk": {
                        "url": f"{fake.base}/other",
                        "secret_env": "OUT_SECRET",
                        "sources": ["forum"],
                        "events": ["reply.create"],
                    },
                }
            }
        }
    )
    hooks = subscribed(config.webhooks, "lead.create", {"OUT_SECRET": SECRET})
    assert [h.name for h in hooks] == ["crm"]
    await hooks[0].send("lead.create", {"handle": "amy"}, "lead-1")
    await hooks[0].close()
    assert list(receiver.delivered) == ["lead-1"]


async def test_bluesky_mention_without_reply_refs_is_looked_up(fake: FakePlatform) -> None:
    sky = FakeBluesky(fake, {"jane.bsky.social": JANE_DID})
    sky.add_post(MENTION_URI, "bafyreimention", "jane.bsky.social", root=(ROOT_URI, "bafyreiroot"))
    gone = "at://did:plc:janeroe00000000000000000/app.bsky.feed.post/3lbdeleted222"
    publisher = _bluesky(fake)
    bare = ReplyTarget("bluesky", "bluesky", "bluesky", MENTION_URI, "jane.bsky.social")
    await publisher.publish(_reply(bare))
    with pytest.raises(PublishError) as caught:
        await publisher.publish(_reply(replace(bare, external_id=gone), key="reply-2-k"))
    await publisher.close()

    [record] = sky.records.values()
    assert record["reply"]["parent"]["uri"] == MENTION_URI
    assert (record["reply"]["root"]["uri"], record["reply"]["root"]["cid"]) == (
        ROOT_URI,
        "bafyreiroot",
    )
    assert caught.value.permanent
    assert caught.value.reason == "Bluesky cannot find the post being answered (deleted?)"
