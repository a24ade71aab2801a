"""webhook_ingest_per_s_postgres and webhook_ingest_per_s_sqlite (BENCHMARKS.md).

A real `crmbot run` process (console chat, no platform env vars) with
CRMBOT_WEBHOOK_SECRET set receives single-event signed generic webhooks
(`POST /webhooks/bench`, `X-Crmbot-Signature: sha256=...`) from 8 concurrent senders,
each an `httpx.AsyncClient`, until ``events`` have been accepted. The figure is accepted
(202, i.e. committed) webhooks per second from the first request to the last answer.
PostgreSQL runs in a private schema created and dropped by the benchmark
(``BENCH_DATABASE_URL``, default the local test database); SQLite in a temporary file.

``webhook_round_trips_per_group_postgres`` is load-independent: the same bodies stored
in-process as the batcher stores 8 concurrent requests (one transaction, 8 groups of one
event), counting statements, BEGIN and COMMIT per transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import emit, mention_texts, private_pg_schema
from benchmarks.ingest import StatementCounter
from benchmarks.latency import SECRET, start_bot, stop_bot
from bot.config_loader import load_config_text
from bot.sources.schema import parse_event
from bot.sources.signatures import crmbot_signature
from handlers.clock import SystemClock
from handlers.delivery import Destination
from handlers.ingest import Ingestor
from handlers.rules import compile_rules
from storage import migrate
from storage.db import Database

SENDERS = 8
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONFIG = '[[rules]]\nname = "outage"\nkeywords = ["down", "outage"]\nlabels = { kind = "outage" }\n'


def bodies(events: int) -> list[bytes]:
    """One signed-ready JSON body per event, each a distinct mention."""
    texts = mention_texts(events)
    return [
        json.dumps(
            {
                "type": "mention",
                "source": "bench",
                "id": f"WH-{n:08d}",
                "platform": "twitter",
                "author": {"handle": f"user{n % 500}", "followers": 10 + n},
                "text": texts[n],
                "posted_at": "2026-11-20T09:00:00Z",
            }
        ).encode()
        for n in range(events)
    ]


async def send_all(url: str, events: int) -> float:
    """Post ``events`` single-event webhooks from SENDERS concurrent clients; returns
    accepted webhooks per second. Any answer other than 202 fails the benchmark."""
    payloads = bodies(events)
    signed = [(b, crmbot_signature(SECRET, b)) for b in payloads]
    queue = iter(signed)
    counter = itertools.count()

    async def sender() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            for body, signature in queue:
                headers = {"content-type": "application/json", "X-Crmbot-Signature": signature}
                answer = await client.post(f"{url}/webhooks/bench", content=body, headers=headers)
                if answer.status_code != 202:
                    raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
                next(counter)

    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    elapsed = time.monotonic() - began
    accepted = next(counter)
    if accepted != events:
        raise RuntimeError(f"only {accepted} of {events} webhooks accepted")
    return events / elapsed


async def measure(database_url: str, events: int, workdir: Path) -> float:
    env = {"DATABASE_URL": database_url}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN"):
        env[name] = ""
    proc, url = await start_bot(workdir, CONFIG, env)
    try:
        return await send_all(url, events)
    finally:
        await stop_bot(proc)


def round_trips_per_group(database_url: str, events: int) -> float:
    """Round trips per transaction storing ``events`` bodies SENDERS at a time, each its
    own group (as the batcher does with SENDERS concurrent requests)."""
    db = Database(database_url)
    migrate.upgrade(db)
    ruleset = compile_rules(load_config_text(CONFIG))
    ingestor = Ingestor(
        db, lambda: ruleset, lambda channel: [Destination("console", channel)], SystemClock()
    )
    parsed = [parse_event(json.loads(body)) for body in bodies(events)]
    counter = StatementCounter(db)
    groups = 0
    for start in range(0, events, SENDERS):
        ingestor.ingest_groups([[event] for event in parsed[start : start + SENDERS]])
        groups += 1
    ingestor.close()
    db.dispose()
    return counter.count / groups


def main(quick: bool = False) -> None:
    events = 500 if quick else 3000
    extra = {"events": events, "senders": SENDERS}
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with tempfile.TemporaryDirectory() as tmp, private_pg_schema(base, "bench") as pg_url:
        rate = asyncio.run(measure(pg_url, events, Path(tmp)))
    emit("webhook_ingest_per_s_postgres", rate, "events/s", ">= 500", **extra)
    with private_pg_schema(base, "bench") as pg_url:
        trips = round_trips_per_group(pg_url, 400)
    emit("webhook_round_trips_per_group_postgres", trips, "statements", "info", senders=SENDERS)
    with tempfile.TemporaryDirectory() as tmp:
        rate = asyncio.run(measure(f"sqlite:///{Path(tmp) / 'bench.db'}", events, Path(tmp)))
    emit("webhook_ingest_per_s_sqlite", rate, "events/s", "info", **extra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
