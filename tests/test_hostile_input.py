"""Hostile and odd input gets a 400 naming the field, never a 5xx (which senders retry for
ever), and reaches neither the database nor the log raw."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.assembly import http_routes
from bot.server import build_http_app
from bot.settings import Settings
from bot.sources.jsonl import BadLine, read_lines
from bot.sources.signatures import crmbot_signature
from handlers.events import Actor
from storage.models import Mention
from tests.conftest import BotHarness, mention
from tests.test_webhooks import (
    HUBSPOT_SECRET,
    WEBHOOK_SECRET,
    _count,
    _hubspot_headers,
    _mention,
    served,
)


@pytest.fixture
async def url(harness: BotHarness) -> AsyncIterator[str]:
    settings = Settings(HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET, CRMBOT_WEBHOOK_SECRET=WEBHOOK_SECRET)
    async with served(build_http_app(harness.bot, http_routes(harness.bot, settings))) as base:
        yield base


def _with(path: str, value: Any) -> bytes:
    """A valid mention with ``value`` put at dotted ``path``, as raw JSON text."""
    event = _mention(1)
    *parents, last = path.split(".")
    target = event
    for part in parents:
        target = target[part]
    target[last] = "@@VALUE@@"
    return json.dumps(event).replace('"@@VALUE@@"', value).encode()


CASES: dict[str, tuple[bytes, str]] = {
    "nested 10,000 deep": (b"[" * 10_000 + b"]" * 10_000, "body: JSON nested deeper than 64"),
    "nested 100 deep in a field": (
        _with("author.name", "[" * 100 + "]" * 100),
        "author.name[0][0]…: JSON nested deeper than 64 levels",
    ),
    "5,000-digit integer": (_with("author.followers", "9" * 5000), "author.followers: integer"),
    "integer over 64 bits": (_with("author.followers", str(2**64)), "author.followers: integer"),
    "followers over 2^31": (_with("author.followers", str(2**31)), "author.followers: Input"),
    "NaN": (_with("author.followers", "NaN"), "author.followers: NaN is not a JSON number"),
    "1e999": (_with("author.followers", "1e999"), "author.followers: number out of range"),
    "NUL in text": (_with("text", '"bad \\u0000 text"'), "text: contains a NUL character"),
    "NUL in a key": (_with("author", '{"h\\u0000": 1}'), "author: a field name contains a NUL"),
    "lone surrogate": (
        _with("author.handle", '"x\\ud800y"'),
        "author.handle: contains an unpaired",
    ),
    "year 9999 west of UTC": (_with("posted_at", '"9999-12-31T23:59:59-23:59"'), "posted_at: "),
    "year 1": (_with("posted_at", '"0001-01-01T00:00:00+01:00"'), "posted_at: "),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_values_get_400_naming_the_field(
    harness: BotHarness, url: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, reason = CASES[case]
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{url}/webhooks/typeform",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Crmbot-Signature": crmbot_signature(WEBHOOK_SECRET, body),
                },
            )
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]
    assert _count(harness, Mention) == 0
    assert "\x00" not in caplog.text and not any(r.exc_info for r in caplog.records)


async def test_hubspot_ids_and_times_out_of_range_get_400(harness: BotHarness, url: str) -> None:
    endpoint = f"{url}/webhooks/hubspot"
    base = '{"eventId": 1, "subscriptionType": "contact.creation", "portalId": 1, "objectId": 2'
    cases = {
        base + ', "occurredAt": 99999999999999999}': "[0].occurredAt",
        base.replace('"objectId": 2', '"objectId": ' + "7" * 400) + ', "occurredAt": 1}': (
            "[0].objectId: integer out of range"
        ),
        base + ', "occurredAt": 1, "propertyValue": "a\\u0000b"}': "[0].propertyValue: contains",
    }
    async with httpx.AsyncClient() as client:
        for item, reason in cases.items():
            body = f"[{item}]".encode()
            response = await client.post(
                endpoint, content=body, headers=_hubspot_headers(harness, endpoint, body)
            )
            assert response.status_code == 400, (item, response.text)
            assert reason in response.json()["error"]


async def test_nul_in_the_source_path_is_escaped_in_the_log(
    harness: BotHarness, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(_mention(1)).encode()
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{url}/webhooks/type%00form" + "x" * 500,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Crmbot-Signature": crmbot_signature(WEBHOOK_SECRET, body),
                },
            )
    assert response.status_code == 400
    assert "\x00" not in caplog.text
    line = next(r.getMessage() for r in caplog.records if "refused (400)" in r.getMessage())
    assert "type\\x00form" in line and len(line) < 500


def test_imported_lines_with_bad_values_are_reported_per_line(tmp_path: Any) -> None:
    good = json.dumps(_mention(1))
    path = tmp_path / "events.jsonl"
    path.write_text(
        "\n".join([good, "[" * 5000 + "]" * 5000, _with("text", '"a\\u0000"').decode(), good])
    )
    lines = list(read_lines(path))
    assert [type(line).__name__ for line in lines] == ["Line", "BadLine", "BadLine", "Line"]
    bad = [str(line) for line in lines if isinstance(line, BadLine)]
    assert bad == [
        "line 2: value: JSON nested deeper than 64 levels",
        "line 3: text: contains a NUL character",
    ]


def test_a_huge_conversation_number_is_no_conversation(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    huge = "9" * 20
    for command in (f"show {huge}", f"claim {huge}", f"reply #{huge} hi", f"suggest {huge}"):
        reply = harness.exec(command, "ana")
        assert reply.text == f"There is no conversation #{huge}. Try `/crm queue`.", command
    assert "is not an id" in harness.say(f"vote s{huge} up", "ana")  # not the generic failure
    assert harness.say("show ²", "ana").startswith("'²' is not a conversation number.")
    assert harness.say("show " + "9" * 5000, "ana").startswith("There is no conversation #999")


def test_chat_text_is_cleaned_of_what_storage_cannot_hold(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hi")])
    assert harness.say("reply 1 so\x00rry \ud800!", "ana").startswith("Recorded your reply on #1")
    assert harness.exec("show 1", "ana").tables[0].rows[-1][3] == "sorry \ufffd!"
    assert harness.say("kb a\x00b \udfff", "ana").startswith("Nothing in the knowledge base")
    weird = harness.bot.command(Actor("console", "lea\x00d", "x"), "metrics 7d")
    assert weird.text.startswith("You're not on the crmbot staff list")
