"""Webhooks over real HTTP: the starlette app served by uvicorn on 127.0.0.1 (port 0).

HubSpot deliveries use HubSpot's real payload format (tests/fixtures/sources), signed
with the v3 scheme; the generic endpoint uses crmbot's JSON schema and X-Crmbot-Signature.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col
from starlette.applications import Starlette

from bot.assembly import http_routes
from bot.server import build_http_app
from bot.settings import Settings
from bot.sources.signatures import (
    SignatureError,
    crmbot_signature,
    hubspot_signature,
    verify_crmbot,
    verify_hubspot,
)
from handlers.cards import AlertCard
from handlers.config_sources import SourcesConfig
from storage.models import Contact, ContactHandle, CrmEvent, Mention
from tests.conftest import BotHarness

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
HUBSPOT_SECRET = "hs-client-secret-123"
WEBHOOK_SECRET = "whsec-456"


# -- signature test vectors (computed independently with openssl) ---------------------


def test_hubspot_v3_test_vector() -> None:
    body = b'[{"eventId":1,"subscriptionType":"contact.creation"}]'
    uri = "https://crm.example.com/webhooks/hubspot?portal=62515"
    expected = "aMPZLOqXL59zF9Q2/tO849MgxAJ1e59Oq+OWuEOMDqY="
    assert hubspot_signature(HUBSPOT_SECRET, "POST", uri, body, "1772442000000") == expected


def test_hubspot_v3_decodes_the_listed_escapes_in_the_uri() -> None:
    uri = "https://crm.example.com/webhooks/hubspot?email=jane%40example.com"
    assert hubspot_signature("k", "POST", uri, b"", "") == (
        "lk0S/gbvRJ5khG8vL7ddv7nYab6PK4W9FeV1wuVanQ8="
    )


def test_crmbot_signature_test_vector() -> None:
    expected = "sha256=57c8285b5d47921dd16e69cd73f5215943b777af55e4da38c2c89040d76ea58f"
    assert crmbot_signature(WEBHOOK_SECRET, b'{"type":"mention"}') == expected
    verify_crmbot(WEBHOOK_SECRET, b'{"type":"mention"}', expected.upper().replace("SHA", "sha"))


def test_signature_errors_never_echo_secrets_or_signatures(harness: BotHarness) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ts = str(int(now.timestamp() * 1000))
    good = hubspot_signature(HUBSPOT_SECRET, "POST", "https://x/y", b"[]", ts)
    cases: list[Callable[[], None]] = [
        partial(verify_hubspot, HUBSPOT_SECRET, "POST", "https://x/y", b"[1]", good, ts, now),
        partial(verify_crmbot, WEBHOOK_SECRET, b"{}", "sha256=00"),
        partial(verify_crmbot, WEBHOOK_SECRET, b"{}", None),
    ]
    for case in cases:
        with pytest.raises(SignatureError) as info:
            case()
        for secret in (HUBSPOT_SECRET, WEBHOOK_SECRET, good):
            assert secret not in str(info.value)


# -- the served app ---------------------------------------------------------------------


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a socket bound to 127.0.0.1:0 (listening before start)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _settings(**env: str) -> Settings:
    return Settings(**env)  # type: ignore[arg-type]


def _configure(harness: BotHarness, sources: dict[str, Any]) -> None:
    config = harness.bot.config
    harness.bot.apply_config(
        config.model_copy(update={"sources": SourcesConfig.model_validate(sources)})
    )


@pytest.fixture
def secrets() -> Settings:
    return _settings(HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET, CRMBOT_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
async def base_url(harness: BotHarness, secrets: Settings) -> AsyncIterator[str]:
    _configure(
        harness,
        {
            "webhooks": {"max_body_bytes": 4096, "aliases": {"zapier": ["typeform"]}},
            "hubspot": {"handle_properties": ["twitterhandle", "bluesky_handle"]},
        },
    )
    app = build_http_app(harness.bot, http_routes(harness.bot, secrets))
    async with served(app) as url:
        yield url


def _count(harness: BotHarness, model: Any) -> int:
    with harness.bot.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _hubspot_headers(
    harness: BotHarness, url: str, body: bytes, age_s: float = 0
) -> dict[str, str]:
    ts = str(int((harness.clock.now().timestamp() - age_s) * 1000))
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_signature(HUBSPOT_SECRET, "POST", url, body, ts),
        "X-HubSpot-Request-Timestamp": ts,
        "X-HubSpot-Signature-Version": "v3",
    }


def _signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Crmbot-Signature": crmbot_signature(secret, body),
    }


# -- HubSpot --------------------------------------------------------------------------


async def test_hubspot_delivery_is_stored_and_feeds_the_contact_store(
    harness: BotHarness, base_url: str
) -> None:
    body = (FIXTURES / "hubspot_delivery.json").read_bytes()
    url = f"{base_url}/webhooks/hubspot"
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, content=body, headers=_hubspot_headers(harness, url, body)
        )
    assert response.status_code == 202, response.text
    assert response.json()["received"] == 10
    assert response.json()["stored"] == 10
    # 202 means committed: a fresh connection sees every row
    assert _count(harness, CrmEvent) == 10
    with harness.bot.db.engine.connect() as conn:
        rows = conn.execute(select(col(CrmEvent.external_id), col(CrmEvent.kind))).all()
        kinds: dict[str, str] = {external_id: kind for external_id, kind in rows}
        contact = conn.execute(select(Contact)).one()._mapping
        handles = conn.execute(select(col(ContactHandle.handle))).scalars().all()
    assert kinds["62515:2101:5501:1735204401"] == "lead_created"
    assert kinds["62515:2202:8801:1735204502"] == "deal_stage_changed"
    assert kinds["62515:2201:8801:1735204501"] == "deal_created"
    assert kinds["62515:2203:8801:1735204503"] == "deal_updated"
    assert kinds["62515:2301:9901:1735204601"] == "ticket_created"
    assert kinds["62515:2104:5501:1735204404"] == "contact_updated"
    assert contact["name"] == "Jane Roe"
    assert contact["email"] == "jane.roe@example.com"
    assert contact["company"] == "Acme Logistics"
    assert handles == ["janeroe"]

    # a later mention by that handle arrives through the generic webhook: its alert names her
    mention = {
        "type": "mention",
        "source": "twitter",
        "id": "tw-9001",
        "platform": "twitter",
        "author": {"handle": "@JaneRoe", "name": "Jane", "followers": 900},
        "text": "our acme tracking is down again, not working since 8am",
        "posted_at": "2026-03-02T08:59:00Z",
    }
    raw = json.dumps(mention).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base_url}/webhooks/twitter", content=raw, headers=_signed(raw)
        )
    assert response.status_code == 202, response.text
    await harness.deliver()
    alerts = [p.card for p in harness.adapter.posts if isinstance(p.card, AlertCard)]
    tweet = [a for a in alerts if a.platform == "twitter"]
    assert tweet and tweet[0].contact is not None and "Jane Roe" in tweet[0].contact


async def test_hubspot_replay_stores_nothing_new(harness: BotHarness, base_url: str) -> None:
    body = (FIXTURES / "hubspot_delivery.json").read_bytes()
    url = f"{base_url}/webhooks/hubspot"
    headers = _hubspot_headers(harness, url, body)
    async with httpx.AsyncClient() as client:
        first = await client.post(url, content=body, headers=headers)
        replay = await client.post(url, content=body, headers=headers)
        # HubSpot's own retry: same events, attemptNumber 1, freshly signed
        retried = json.loads(body)
        for event in retried:
            event["attemptNumber"] = 1
        retry_body = json.dumps(retried).encode()
        retry = await client.post(
            url, content=retry_body, headers=_hubspot_headers(harness, url, retry_body)
        )
    assert first.status_code == replay.status_code == retry.status_code == 202
    assert replay.json() == {"received": 10, "stored": 0, "duplicates": 10, "opened": 0}
    assert retry.json()["stored"] == 0
    assert _count(harness, CrmEvent) == 10


@pytest.mark.parametrize(
    "tamper",
    ["forged", "stale", "future", "missing", "wrong-uri", "body-changed"],
)
async def test_hubspot_bad_signatures_get_401_and_store_nothing(
    harness: BotHarness, base_url: str, tamper: str
) -> None:
    body = (FIXTURES / "hubspot_delivery.json").read_bytes()
    url = f"{base_url}/webhooks/hubspot"
    headers = _hubspot_headers(harness, url, body)
    if tamper == "forged":
        ts = headers["X-HubSpot-Request-Timestamp"]
        headers["X-HubSpot-Signature-v3"] = hubspot_signature(
            "not-the-secret", "POST", url, body, ts
        )
    elif tamper == "stale":
        headers = _hubspot_headers(harness, url, body, age_s=301)
    elif tamper == "future":
        headers = _hubspot_headers(harness, url, body, age_s=-301)
    elif tamper == "missing":
        del headers["X-HubSpot-Signature-v3"]
    elif tamper == "wrong-uri":
        headers = _hubspot_headers(harness, f"{base_url}/webhooks/other", body)
    elif tamper == "body-changed":
        body = body.replace(b"Jane", b"Joan")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body, headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()
    assert HUBSPOT_SECRET not in response.text
    assert _count(harness, CrmEvent) == 0


async def test_hubspot_signature_over_the_public_url(harness: BotHarness) -> None:
    """Behind a proxy HubSpot signs https://public-host/...; CRMBOT_PUBLIC_URL says which."""
    settings = _settings(
        HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET, CRMBOT_PUBLIC_URL="https://crm.example.com/"
    )
    app = build_http_app(harness.bot, http_routes(harness.bot, settings))
    body = (FIXTURES / "hubspot_delivery.json").read_bytes()
    async with served(app) as base, httpx.AsyncClient() as client:
        public = "https://crm.example.com/webhooks/hubspot?app=1"
        ok = await client.post(
            f"{base}/webhooks/hubspot?app=1",
            content=body,
            headers=_hubspot_headers(harness, public, body),
        )
        local = f"{base}/webhooks/hubspot?app=1"
        bad = await client.post(local, content=body, headers=_hubspot_headers(harness, local, body))
    assert ok.status_code == 202, ok.text
    assert bad.status_code == 401


async def test_hubspot_schema_errors_get_400(harness: BotHarness, base_url: str) -> None:
    url = f"{base_url}/webhooks/hubspot"
    cases = {
        b'{"eventId": 1}': "expected a JSON array",
        b'[{"eventId": 1, "subscriptionType": "contact.creation", "portalId": 1, "occurredAt": 1}]': "[0].objectId",
        b"[{not json": "not valid JSON",
    }
    async with httpx.AsyncClient() as client:
        for body, reason in cases.items():
            response = await client.post(
                url, content=body, headers=_hubspot_headers(harness, url, body)
            )
            assert response.status_code == 400, body
            assert reason in response.json()["error"]
    assert _count(harness, CrmEvent) == 0


# -- generic ---------------------------------------------------------------------------


def _mention(i: int, source: str = "typeform", **kw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "mention",
        "source": source,
        "id": f"{source}-{i}",
        "platform": "survey",
        "author": {"handle": f"respondent{i}"},
        "text": f"answer {i}: the pricing page is confusing",
        "posted_at": "2026-03-02T08:00:00Z",
    }
    event.update(kw)
    return event


async def test_generic_single_and_batch(harness: BotHarness, base_url: str) -> None:
    single = json.dumps(_mention(1)).encode()
    batch = json.dumps({"events": [_mention(2), _mention(3), _mention(1)]}).encode()
    async with httpx.AsyncClient() as client:
        one = await client.post(
            f"{base_url}/webhooks/typeform", content=single, headers=_signed(single)
        )
        many = await client.post(
            f"{base_url}/webhooks/typeform", content=batch, headers=_signed(batch)
        )
        again = await client.post(
            f"{base_url}/webhooks/typeform", content=batch, headers=_signed(batch)
        )
    assert one.status_code == 202 and one.json()["stored"] == 1
    assert many.json() == {
        "received": 3,
        "stored": 2,
        "duplicates": 1,
        "opened": many.json()["opened"],
    }
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 3
    assert _count(harness, Mention) == 3


async def test_generic_source_must_match_the_path_or_an_alias(
    harness: BotHarness, base_url: str
) -> None:
    body = json.dumps({"events": [_mention(1), _mention(2, source="intercom")]}).encode()
    aliased = json.dumps(_mention(5)).encode()
    async with httpx.AsyncClient() as client:
        wrong = await client.post(
            f"{base_url}/webhooks/typeform", content=body, headers=_signed(body)
        )
        alias = await client.post(
            f"{base_url}/webhooks/zapier", content=aliased, headers=_signed(aliased)
        )
    assert wrong.status_code == 400
    assert "events[1]" in wrong.json()["error"] and "intercom" in wrong.json()["error"]
    assert alias.status_code == 202
    assert _count(harness, Mention) == 1  # the refused batch stored nothing at all


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"events": {}}', "'events' must be a JSON array"),
        (
            json.dumps(
                {"events": [_mention(1), {"type": "mention", "source": "typeform"}]}
            ).encode(),
            "events[1]: ",
        ),
        (json.dumps(_mention(1, posted_at="yesterday")).encode(), "posted_at"),
        (b"\xff\xfe{}", "not"),
    ],
)
async def test_generic_malformed_bodies_get_400(
    harness: BotHarness, base_url: str, body: bytes, reason: str
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base_url}/webhooks/typeform", content=body, headers=_signed(body)
        )
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert _count(harness, Mention) == 0


@pytest.mark.parametrize("case", ["missing", "forged", "bad-format", "other-body"])
async def test_generic_bad_signature_gets_401(
    harness: BotHarness, base_url: str, case: str
) -> None:
    body = json.dumps(_mention(1)).encode()
    headers = _signed(body)
    if case == "missing":
        del headers["X-Crmbot-Signature"]
    elif case == "forged":
        headers = _signed(body, secret="guess")
    elif case == "bad-format":
        headers["X-Crmbot-Signature"] = headers["X-Crmbot-Signature"].removeprefix("sha256=")
    elif case == "other-body":
        headers = _signed(json.dumps(_mention(2)).encode())
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base_url}/webhooks/typeform", content=body, headers=headers)
    assert response.status_code == 401
    assert _count(harness, Mention) == 0


async def test_oversized_bodies_get_413_without_being_read(
    harness: BotHarness, base_url: str
) -> None:
    big = json.dumps(_mention(1, text="x" * 5000)).encode()  # limit is 4096 in this config

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    async with httpx.AsyncClient() as client:
        declared = await client.post(
            f"{base_url}/webhooks/typeform", content=big, headers=_signed(big)
        )
        streamed = await client.post(
            f"{base_url}/webhooks/typeform", content=chunks(), headers=_signed(big)
        )
        url = f"{base_url}/webhooks/hubspot"
        hubspot = await client.post(url, content=big, headers=_hubspot_headers(harness, url, big))
    for response in (declared, streamed, hubspot):
        assert response.status_code == 413
        assert "limit" in response.json()["error"]
    assert _count(harness, Mention) == 0


async def test_unconfigured_secrets_answer_503(harness: BotHarness) -> None:
    app = build_http_app(harness.bot, http_routes(harness.bot, _settings()))
    body = json.dumps(_mention(1)).encode()
    async with served(app) as base, httpx.AsyncClient() as client:
        generic = await client.post(
            f"{base}/webhooks/typeform", content=body, headers=_signed(body)
        )
        hubspot = await client.post(f"{base}/webhooks/hubspot", content=b"[]")
        health = await client.get(f"{base}/healthz")
    assert generic.status_code == 503 and "CRMBOT_WEBHOOK_SECRET" in generic.json()["error"]
    assert hubspot.status_code == 503 and "HUBSPOT_CLIENT_SECRET" in hubspot.json()["error"]
    assert health.status_code == 200
    assert _count(harness, Mention) == 0


async def test_no_secret_in_logs_or_responses(
    harness: BotHarness, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(_mention(1)).encode()
    url = f"{base_url}/webhooks/hubspot"
    async with httpx.AsyncClient() as client:
        texts = [
            (
                await client.post(
                    f"{base_url}/webhooks/typeform", content=body, headers=_signed(body, "x")
                )
            ).text,
            (
                await client.post(
                    f"{base_url}/webhooks/typeform", content=body, headers=_signed(body)
                )
            ).text,
            (
                await client.post(
                    url, content=b"[]", headers=_hubspot_headers(harness, url, b"[1]")
                )
            ).text,
        ]
    everything = "\n".join([*texts, caplog.text])
    assert WEBHOOK_SECRET not in everything
    assert HUBSPOT_SECRET not in everything
    assert "webhook typeform refused (401)" in caplog.text


async def test_storage_failure_answers_503_so_the_sender_retries(
    harness: BotHarness, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: Any) -> Any:
        raise OperationalError("INSERT INTO mention", {}, Exception("database is gone"))

    monkeypatch.setattr(harness.bot, "ingest", broken)
    monkeypatch.setattr(harness.bot, "ingest_groups", broken)
    body = json.dumps(_mention(1)).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base_url}/webhooks/typeform", content=body, headers=_signed(body)
        )
    assert response.status_code == 503
    assert "database" not in response.text


async def _post_all(base_url: str, bodies: list[bytes]) -> list[httpx.Response]:
    """Post every body at once, each from its own client (concurrent senders)."""

    async def post(body: bytes) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"{base_url}/webhooks/typeform", content=body, headers=_signed(body)
            )

    return list(await asyncio.gather(*(post(b) for b in bodies)))


async def test_concurrent_requests_each_get_their_own_counts(
    harness: BotHarness, base_url: str
) -> None:
    """Requests stored in one shared transaction still answer for their own events."""
    bodies = [json.dumps(_mention(i)).encode() for i in range(12)]
    bodies.append(json.dumps({"events": [_mention(0), _mention(1), _mention(100)]}).encode())
    responses = await _post_all(base_url, bodies)
    assert all(r.status_code == 202 for r in responses)
    answers = [r.json() for r in responses]
    assert all(a["received"] == 1 for a in answers[:12])
    assert sum(a["stored"] for a in answers) == 13  # mentions 0-11 and 100, once each
    assert sum(a["duplicates"] for a in answers) == 2
    assert answers[12]["received"] == 3 and answers[12]["stored"] >= 1
    assert _count(harness, Mention) == 13


async def test_a_failing_group_answers_each_request_for_itself(
    harness: BotHarness, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a shared transaction fails, each request is stored alone: one that the
    database refuses answers 400, the others are still stored and answered 202."""
    real_ingest = harness.bot.ingest

    def refuse_grouped(groups: Any) -> Any:
        if len(groups) > 1 or any(e.external_id == "typeform-3" for g in groups for e in g):
            raise IntegrityError("INSERT INTO mention", {}, Exception("refused"))
        return [real_ingest(g) for g in groups]

    def refuse_one(events: Any) -> Any:
        if any(e.external_id == "typeform-3" for e in events):
            raise IntegrityError("INSERT INTO mention", {}, Exception("refused"))
        return real_ingest(events)

    monkeypatch.setattr(harness.bot, "ingest_groups", refuse_grouped)
    monkeypatch.setattr(harness.bot, "ingest", refuse_one)
    responses = await _post_all(base_url, [json.dumps(_mention(i)).encode() for i in range(6)])
    codes = [r.status_code for r in responses]
    assert codes == [202, 202, 202, 400, 202, 202]
    assert _count(harness, Mention) == 5
