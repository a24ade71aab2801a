"""fuzz_http_500 and fuzz_http_503_bad_input (BENCHMARKS.md).

`crmbot run` (a separate process, Slack in HTTP mode against the loopback fake Slack)
receives fuzzed but validly signed requests over real HTTP: generic webhook bodies,
HubSpot deliveries, and Slack slash commands, button presses and thread events. Each is
a valid template with one value replaced by something hostile (JSON nested thousands
deep, integers of thousands of digits, NaN, NUL characters, lone surrogates, times out
of range, huge ids, random Unicode) or plain random bytes. A 5xx other than 503, or a
connection dropped without an answer, counts towards fuzz_http_500; a 503 (meant only for outages, and the database is up) towards
fuzz_http_503_bad_input. Tracebacks in the bot's log are reported alongside.

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (a private schema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import create_engine, text

from benchmarks.common import emit
from benchmarks.latency import free_port, wait_healthy
from bot.sources.signatures import crmbot_signature, hubspot_signature
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_samples import HUBSPOT, value_paths

WEBHOOK_SECRET = "fuzz-webhook-secret"
HUBSPOT_SECRET = "fuzz-hubspot-secret"
SIGNING_SECRET = "fuzz-signing-secret"
STAFF = "U0FUZZSTAFF"

CONFIG = f"""
[alerts]
default_channel = "support"

[channels.support]
slack = "C0FUZZ"

[[rules]]
name = "all"
keywords = ["the"]

[[staff]]
name = "ana"
slack = "{STAFF}"
role = "manager"
"""

HOSTILE = [
    "9" * 5000,
    str(2**64),
    str(2**31),
    "NaN",
    "-Infinity",
    "1e999",
    "[" * 10_000 + "]" * 10_000,
    '"\\u0000"',
    '"x\\ud800"',
    '"9999-12-31T23:59:59-23:59"',
    '"0001-01-01T00:00:00+14:00"',
    '""',
    "null",
    "[]",
    "{}",
    "true",
    '"' + "é" * 50_000 + '"',
]
TEXTS = [
    "9" * 25,
    "show 99999999999999999999",
    "claim 1",
    "reply 1 hi\x00there",
    "metrics 7d",
    "handoff 1 " + " ".join(f"<@U{n:09d}|p{n}>" for n in range(200)),
    "claim ²",
    "vote 99999999999999999999999 up",
    "x\ud800y",
    "kb " + "a" * 3000,
    '"unbalanced',
]

MENTION: dict[str, Any] = {
    "type": "mention",
    "source": "fuzz",
    "id": "m",
    "platform": "twitter",
    "author": {"handle": "someone", "name": "Some One", "followers": 10},
    "text": "the app is down",
    "posted_at": "2026-11-20T09:00:00Z",
}
CRM: dict[str, Any] = {
    "type": "crm",
    "source": "fuzz",
    "id": "c",
    "kind": "deal_stage_changed",
    "object_id": "deal-1",
    "occurred_at": "2026-11-20T09:00:00Z",
    "contact": {"id": "c1", "name": "Jane"},
    "deal": {"amount": 100, "stage": "won"},
}


def _random_text(rng: random.Random) -> str:
    return "".join(
        chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x110000)]))
        for _ in range(rng.randrange(0, 40))
    )


def mutate(rng: random.Random, template: dict[str, Any], n: int) -> str:
    """``template`` as JSON text with one value replaced by a hostile one."""
    event = json.loads(json.dumps(template))
    if "id" in event:
        event["id"] = f"{event['id']}-{n}"
    else:
        event["eventId"] = n
    path = rng.choice(value_paths(event))
    target = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "@@RAW@@"
    raw = rng.choice(HOSTILE) if rng.random() < 0.75 else json.dumps(_random_text(rng))
    return json.dumps(event).replace('"@@RAW@@"', raw, 1)


def slack_request(rng: random.Random, n: int, slack: FakeSlack) -> tuple[str, str]:
    """A fuzzed Slack request: (body, content type)."""
    user = rng.choice([STAFF, "U0STRANGER", "", "U\x00", "U" + "9" * 400])
    kind = rng.choice(["command", "action", "event"])
    response_url = slack.response_url(f"fuzz-{n}")
    if kind == "command":
        text_ = rng.choice(TEXTS) if rng.random() < 0.6 else _random_text(rng)
        form = {
            "command": "/crm",
            "text": text_,
            "user_id": user,
            "user_name": "x",
            "channel_id": "C0FUZZ",
            "team_id": "T0",
            "response_url": response_url,
            "trigger_id": f"t-{uuid.uuid4().hex}",
        }
        return urlencode(form, errors="surrogatepass"), "application/x-www-form-urlencoded"
    if kind == "action":
        value = rng.choice(["1", "9" * 30, "²", "", "-1", _random_text(rng)])
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "x"},
            "team": {"id": "T0"},
            "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0FUZZ"},
            "trigger_id": f"t-{uuid.uuid4().hex}",
            "response_url": response_url,
            "actions": [
                {
                    "action_id": rng.choice(
                        ["crm_claim", "crm_resolve", "crm_handoff", "sug_use", "x"]
                    ),
                    "block_id": f"crm:{value}",
                    "value": value,
                    "selected_user": user,
                    "action_ts": "1.1",
                }
            ],
        }
        body = json.dumps(payload)
        return urlencode({"payload": body}), "application/x-www-form-urlencoded"
    event = {
        "type": "event_callback",
        "team_id": "T0",
        "event_id": f"Ev{n}",
        "event": {
            "type": "message",
            "channel": "C0FUZZ",
            "user": user,
            "text": _random_text(rng),
            "ts": f"2.{n}",
            "thread_ts": rng.choice(["1.0", "", "9" * 40]),
        },
    }
    return json.dumps(event), "application/json"


async def fuzz(database_url: str, requests: int, workdir: Path, seed: int = 5) -> dict[str, int]:
    slack = FakeSlack(bot_token="xoxb-fuzz")
    await slack.start()
    config = workdir / "crmbot.toml"
    config.write_text(CONFIG)
    port = free_port()
    log_path = workdir / "bot.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRMBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-fuzz",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "CRMBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HUBSPOT_CLIENT_SECRET": HUBSPOT_SECRET,
        "CRMBOT_LOG_LEVEL": "WARNING",
    }
    rng = random.Random(seed)
    counts = {"requests": 0, "http_5xx": 0, "http_503": 0, "dropped": 0, "tracebacks": 0}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            stdout=log,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(url, proc)
            async with httpx.AsyncClient(timeout=30) as client:
                for n in range(requests):
                    try:
                        status = await _one(client, url, rng, n, slack)
                    except httpx.TransportError:  # no answer at all: worse than a 500
                        counts["dropped"] += 1
                        status = 599
                    counts["requests"] += 1
                    if status == 503:
                        counts["http_503"] += 1
                    elif status >= 500:
                        counts["http_5xx"] += 1
            await asyncio.sleep(1.0)  # let acknowledged Slack work finish before counting
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=30)
            await slack.stop()
    counts["tracebacks"] = log_path.read_bytes().count(b"Traceback (most recent call last)")
    return counts


async def _one(
    client: httpx.AsyncClient, url: str, rng: random.Random, n: int, slack: FakeSlack
) -> int:
    target = rng.choice(["generic", "generic", "hubspot", "slack", "slack"])
    if target == "slack":
        body, content_type = slack_request(rng, n, slack)
        ts = str(int(time.time()))
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
        }
        response = await client.post(
            f"{url}/slack/events", content=body.encode("utf-8", "surrogatepass"), headers=headers
        )
        return response.status_code
    if target == "hubspot":
        raw = (
            f"[{mutate(rng, HUBSPOT, n)}]"
            if rng.random() < 0.9
            else rng.randbytes(rng.randrange(0, 300)).decode("latin-1")
        )
        data = raw.encode("utf-8", "surrogatepass")
        ts = str(int(time.time() * 1000))
        endpoint = f"{url}/webhooks/hubspot"
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": hubspot_signature(HUBSPOT_SECRET, "POST", endpoint, data, ts),
            "X-HubSpot-Request-Timestamp": ts,
        }
        return (await client.post(endpoint, content=data, headers=headers)).status_code
    if rng.random() < 0.9:
        data = mutate(rng, rng.choice([MENTION, CRM]), n).encode("utf-8", "surrogatepass")
    else:
        data = rng.randbytes(rng.randrange(0, 300))
    headers = {
        "Content-Type": "application/json",
        "X-Crmbot-Signature": crmbot_signature(WEBHOOK_SECRET, data),
    }
    return (await client.post(f"{url}/webhooks/fuzz", content=data, headers=headers)).status_code


def _postgres_schema(base: str) -> tuple[str, str]:
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main(quick: bool = False) -> None:
    requests = 150 if quick else 500
    runs: list[tuple[str, str, str | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(("", f"sqlite:///{Path(tmp) / 'fuzz.db'}", None))
        pg = os.environ.get("TEST_DATABASE_URL")
        if pg:
            runs.append(("_postgres", *_postgres_schema(pg)))
        try:
            for suffix, db_url, _ in runs:
                counts = asyncio.run(fuzz(db_url, requests, Path(tmp)))
                extra = {k: counts[k] for k in ("requests", "dropped", "tracebacks")}
                emit(f"fuzz_http_500{suffix}", counts["http_5xx"], "count", "0", **extra)
                emit(f"fuzz_http_503_bad_input{suffix}", counts["http_503"], "count", "0", **extra)
        finally:
            for _, _, made in runs:
                if made and pg:
                    _drop_schema(pg, made)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
