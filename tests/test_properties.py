"""Property-based tests (hypothesis): whatever arrives, crmbot answers sensibly.

- validly signed webhook bodies (generic and HubSpot) never get a 5xx;
- ``/crm`` text never escapes ``handle_command`` nor gets the generic failure;
- config files give a config or a ConfigError, nothing else;
- imported files give per-line errors, never a crash.

Each runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot.assembly import http_routes
from bot.config_loader import ConfigError, load_config_text
from bot.server import build_http_app
from bot.settings import Settings
from bot.sources.importer import import_file
from bot.sources.signatures import crmbot_signature
from handlers.commands import COMMANDS, handle_command
from handlers.errors import GENERIC_FAILURE
from handlers.events import Actor, Command
from handlers.replies import Reply
from tests.conftest import BotHarness, mention
from tests.fakes.webhook_samples import HUBSPOT, value_paths
from tests.test_webhooks import HUBSPOT_SECRET, WEBHOOK_SECRET, _hubspot_headers

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- what hostile senders send -------------------------------------------------------------

# raw JSON text that json.dumps cannot produce
HOSTILE_RAW = [
    "9" * 5000,
    str(2**64),
    str(2**31),
    str(2**63),
    "-" + "1" * 30,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e-999",
    "[" * 3000 + "]" * 3000,
    '{"a":' * 200 + "1" + "}" * 200,
    '"\\u0000"',
    '"a\\ud800b"',
    '"\\udfff"',
    '"9999-12-31T23:59:59-23:59"',
    '"0001-01-01T00:00:00+14:00"',
    '"2026-03-02T08:00:00"',
    '""',
    "null",
    "true",
    "[]",
    "{}",
]
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=()), max_size=30)
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
raw_values = st.sampled_from(HOSTILE_RAW) | json_values.map(json.dumps)

MENTION: dict[str, Any] = {
    "type": "mention",
    "source": "typeform",
    "id": "typeform-1",
    "platform": "survey",
    "author": {"handle": "someone", "name": "Some One", "followers": 12},
    "text": "the pricing page is confusing",
    "posted_at": "2026-03-02T08:00:00Z",
    "url": "https://example.com/1",
}
CRM: dict[str, Any] = {
    "type": "crm",
    "source": "typeform",
    "id": "crm-1",
    "kind": "deal_stage_changed",
    "object_id": "deal-1",
    "occurred_at": "2026-03-02T08:00:00Z",
    "contact": {"id": "c1", "name": "Jane", "handles": ["jane"]},
    "deal": {"name": "Renewal", "amount": 100, "stage": "won"},
    "properties": {"x": 1},
}


def _mutated(template: dict[str, Any], path: tuple[str, ...], raw: str, n: int) -> str:
    """``template`` as JSON with the value at ``path`` replaced by raw JSON text."""
    event = json.loads(json.dumps(template))
    event["id" if "id" in event else "eventId"] = f"x{n}" if "id" in event else n
    target = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "@@RAW@@"
    return json.dumps(event).replace('"@@RAW@@"', raw, 1)


@st.composite
def generic_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "batch", "json", "bytes"]))
    n = draw(st.integers(min_value=1, max_value=10**6))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    template = draw(st.sampled_from([MENTION, CRM]))
    path = draw(st.sampled_from(value_paths(template)))
    one = _mutated(template, path, draw(raw_values), n)
    if kind == "batch":
        other = _mutated(
            template, ("platform",) if "text" in template else ("kind",), '"ok"', n + 1
        )
        return f'{{"events": [{one}, {other}]}}'.encode()
    return one.encode()


@st.composite
def hubspot_bodies(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()) and draw(st.booleans()):
        return json.dumps(draw(json_values)).encode()
    n = draw(st.integers(min_value=1, max_value=10**6))
    path = draw(st.sampled_from(value_paths(HUBSPOT)))
    return f"[{_mutated(HUBSPOT, path, draw(raw_values), n)}]".encode()


def _client(h: BotHarness) -> TestClient:
    secrets = Settings(HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET, CRMBOT_WEBHOOK_SECRET=WEBHOOK_SECRET)
    return TestClient(
        build_http_app(h.bot, http_routes(h.bot, secrets)), raise_server_exceptions=False
    )


def test_generic_webhook_never_answers_5xx(harness: BotHarness) -> None:
    client = _client(harness)

    @FUZZ
    @given(body=generic_bodies())
    def check(body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Crmbot-Signature": crmbot_signature(WEBHOOK_SECRET, body),
        }
        response = client.post("/webhooks/typeform", content=body, headers=headers)
        assert response.status_code < 500, (body[:300], response.text)
        assert response.status_code in (202, 400, 413), response.text

    check()


def test_hubspot_webhook_never_answers_5xx(harness: BotHarness) -> None:
    client = _client(harness)
    url = "http://testserver/webhooks/hubspot"

    @FUZZ
    @given(body=hubspot_bodies())
    def check(body: bytes) -> None:
        response = client.post(url, content=body, headers=_hubspot_headers(harness, url, body))
        assert response.status_code in (202, 400), (body[:300], response.text)

    check()


# -- chat ----------------------------------------------------------------------------------

command_words = st.sampled_from(sorted(COMMANDS)) | st.text(max_size=10)
arguments = st.lists(
    st.sampled_from(
        ["1", "#1", "2", "9" * 25, "-1", "²", "@ana", "@nobody", "7d", "team:x", "bh", "up"]
    )
    | st.text(st.characters(exclude_categories=()), max_size=12),
    max_size=4,
)


def test_any_command_text_gets_a_reply_never_the_generic_failure(harness: BotHarness) -> None:
    harness.bot.ingest([mention("the app is down"), mention("pricing please")])

    @FUZZ
    @given(
        word=command_words,
        args=arguments,
        raw=st.booleans(),
        text=st.text(st.characters(exclude_categories=()), max_size=60),
        user=st.sampled_from(["ana", "ben", "lead", "stranger"]),
    )
    def check(word: str, args: list[str], raw: bool, text: str, user: str) -> None:
        line = text if raw else " ".join([word, *args]).replace("chart", "c")
        command = Command(actor=Actor("console", user, user), text=line)
        reply = handle_command(harness.bot.ctx, command)
        assert isinstance(reply, Reply) and isinstance(reply.text, str)
        assert reply.text != GENERIC_FAILURE, line

    check()


# -- files ---------------------------------------------------------------------------------

toml_values = (
    st.integers(min_value=-(2**40), max_value=2**40).map(str)
    | st.booleans().map(lambda b: str(b).lower())
    | st.text(max_size=20).map(json.dumps)
    | st.sampled_from(
        ['"30m"', '"15x"', '"Mars/Olympus"', '["support"]', '{ team = "x" }', "[1, 2]"]
    )
)
SECTIONS = [
    "[alerts]",
    "[[rules]]",
    "[[routes]]",
    "[channels.support]",
    "[roles]",
    "[[staff]]",
    "[[spikes]]",
    "[sources.webhooks]",
    "[business_hours]",
    "[sla]",
    "[console]",
]
KEYS = [
    "name",
    "keywords",
    "channel",
    "severity",
    "match",
    "labels",
    "default_channel",
    "after",
    "group_wait",
    "admins",
    "role",
    "slack",
    "window",
    "ratio",
    "max_body_bytes",
    "timezone",
    "continue",
    "query",
    "min_followers",
    "high",
    "user",
    "reopen_window",
    "bogus",
]


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        lines.append(draw(st.sampled_from(SECTIONS)))
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(st.sampled_from(KEYS))} = {draw(toml_values)}")
    return "\n".join(lines)


@FUZZ
@given(text=config_texts())
def test_config_text_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        load_config_text(text, "fuzz.toml")
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)


_line = st.sampled_from([MENTION, CRM]).flatmap(
    lambda t: st.tuples(st.sampled_from(value_paths(t)), raw_values, st.integers(1, 10**9)).map(
        lambda args: _mutated(t, *args)
    )
) | st.text(st.characters(exclude_categories=(), exclude_characters="\r\n"), max_size=80)


def test_imported_files_report_bad_lines_and_keep_the_rest(
    harness: BotHarness, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"

    @FUZZ
    @given(lines=st.lists(_line, max_size=8))
    def check(lines: list[str]) -> None:
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        counted = [ln for ln in lines if ln.strip() and not ln.strip().startswith("//")]
        report = import_file(path, harness.bot.ingest)
        assert report.stored + report.duplicates + len(report.skipped) == len(counted)
        assert all(bad.number >= 1 and bad.reason for bad in report.skipped)

    check()
