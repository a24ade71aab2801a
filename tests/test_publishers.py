"""Publishers against loopback fakes of the platforms (tests/fakes/social_api.py), with
the real client libraries doing the HTTP: httpx for outbound webhooks, Mastodon.py,
atproto and asyncpraw. Each test asserts what the customer would see on the platform
(one reply, threaded under their post, mentioning them) or what staff would read in the
thread when it fails (the reason in words, the variable to check, never a secret)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from bot.publish.outbound import OutboundWebhook
from handlers.clock import FakeClock
from handlers.config_sources import OutboundWebhookConfig, SourcesConfig
from handlers.publish_port import PublishError
from tests.fakes.social_api import FakePlatform, WebhookReceiver, running_platform

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
