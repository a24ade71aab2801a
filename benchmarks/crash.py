"""crash_lost (BENCHMARKS.md), with crash_duplicates and crash_orphans for information.

`crmbot run` (a separate process, Slack in HTTP mode against the loopback fake) receives
signed webhooks at a steady rate; part-way through it is killed with SIGKILL while the
sender keeps going (those requests fail). The process is started again and the sender
re-sends everything that did not get a 202. Then:

- crash_lost: accepted mentions whose alert never reached the fake Slack;
- crash_duplicates: alerts posted more than once (a kill between "Slack answered" and
  "marked sent" re-posts that one message after the restart);
- crash_doubled_conversations: mentions stored or opened twice (the re-sends of requests
  that were stored before the kill must be recognised as duplicates);
- crash_orphans: sentiment worker processes still running after their parent was killed.

Runs on SQLite by default; ``--postgres`` uses TEST_DATABASE_URL (or the local server)
in a throw-away schema.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from benchmarks.common import emit, private_pg_schema
from tests.fakes import crmbot_process as run
from tests.fakes.slack_api import FakeSlack

CHANNELS = 50
POSTED_BEFORE_KILL = 0.1  # share of the events alerted before the kill
MARKER = re.compile(r"CRASH-\d{6}")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class CountingSlack(FakeSlack):
    """The fake Slack, counting each marker once per top-level message it appears in."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.alerted: Counter[str] = Counter()

    def _post(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = super()._post(method, params)
        if method == "chat.postMessage" and not params.get("thread_ts") and answer.get("ok"):
            self.alerted.update(set(MARKER.findall(json.dumps(params))))
        return answer


@dataclass
class CrashOutcome:
    """What a crash run saw."""

    events: int
    accepted_before_kill: int = 0
    resent: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    doubled_conversations: int = 0
    orphans: list[int] = field(default_factory=list)
    workers: int = 0


async def _send(client: httpx.AsyncClient, url: str, marker: str, n: int) -> tuple[str, bool]:
    body, headers = run.signed_mention(marker, f"lane{n % CHANNELS} is the app down?", f"u{n}")
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.TransportError:
        return marker, False
    return marker, response.status_code == 202


def _stored_counts(database_url: str) -> tuple[int, int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            mentions = conn.execute(text("SELECT count(*) FROM mention")).scalar_one()
            distinct = conn.execute(
                text("SELECT count(DISTINCT external_id) FROM mention")
            ).scalar_one()
            conversations = conn.execute(text("SELECT count(*) FROM conversation")).scalar_one()
    finally:
        engine.dispose()
    return int(mentions), int(distinct), int(conversations)


async def _outbox_empty(url: str, seconds: float) -> None:
    """Wait until /metrics shows an empty outbox (everything posted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with httpx.AsyncClient() as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.TransportError):
                scrape = (await client.get(f"{url}/metrics", timeout=5)).text
                if re.search(r"^crmbot_outbox_depth 0\.0$", scrape, re.MULTILINE):
                    return
            await asyncio.sleep(0.2)


async def crash_run(
    database_url: str, workdir: Path, events: int = 400, rate: float = 50, kill_at: float = 0.4
) -> CrashOutcome:
    """Send ``events`` webhooks at ``rate``/s, SIGKILL the bot after ``kill_at`` of them,
    restart it, re-send what failed, and count what reached the fake Slack."""
    outcome = CrashOutcome(events)
    slack = CountingSlack(bot_token=run.BOT_TOKEN)
    await slack.start()
    config = workdir / "crmbot.toml"
    config.write_text(run.lanes_config(CHANNELS))
    env = run.run_env(database_url, config, slack.api_url)
    port = run.free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / "run.log"
    proc = await run.start(env, port, log)
    try:
        workers = run.children_of(proc.pid)
        outcome.workers = len(workers)
        loop = asyncio.get_running_loop()
        half_sent = asyncio.Event()

        async def killer() -> None:
            # mid-stream *and* mid-delivery: once kill_at of the events were sent and the
            # bot has posted some alerts (a slow machine lags behind the sender)
            await half_sent.wait()
            with contextlib.suppress(AssertionError):
                await slack.wait_for(
                    lambda: len(slack.alerted) >= events * POSTED_BEFORE_KILL, seconds=60
                )
            proc.send_signal(signal.SIGKILL)

        kill = asyncio.create_task(killer())
        async with httpx.AsyncClient(timeout=10) as client:
            began = loop.time()
            tasks = []
            for n in range(events):
                await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
                marker = f"CRASH-{n:06d}"
                tasks.append(
                    asyncio.create_task(_send(client, f"{base}/webhooks/bench", marker, n))
                )
                if n + 1 >= events * kill_at:
                    half_sent.set()
            results = await asyncio.gather(*tasks)
        await asyncio.wait_for(kill, 60)
        await proc.wait()
        for _ in range(50):  # workers notice their parent is gone within a second
            if not any(run.alive(pid) for pid in workers):
                break
            await asyncio.sleep(0.1)
        outcome.orphans = [pid for pid in workers if run.alive(pid)]
        for pid in outcome.orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        failed = [m for m, ok in results if not ok]
        outcome.accepted_before_kill = events - len(failed)
        proc = await run.start(env, port, log)
        async with httpx.AsyncClient(timeout=10) as client:
            for marker in failed:
                n = int(marker.removeprefix("CRASH-"))
                _, ok = await _send(client, f"{base}/webhooks/bench", marker, n)
                if not ok:
                    raise RuntimeError(f"the restarted bot refused {marker}")
        outcome.resent = len(failed)
        every = {f"CRASH-{n:06d}" for n in range(events)}
        with contextlib.suppress(AssertionError):
            await slack.wait_for(lambda: every <= set(slack.alerted), seconds=60)
        await _outbox_empty(base, 30)
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
        await slack.stop()
    outcome.lost = sorted(every - set(slack.alerted))
    outcome.duplicates = {m: c for m, c in slack.alerted.items() if c > 1}
    mentions, distinct, conversations = _stored_counts(database_url)
    outcome.doubled_conversations = (mentions - distinct) + max(0, conversations - distinct)
    return outcome


def main(quick: bool = False, postgres: bool = False) -> None:
    events = 150 if quick else 400
    with tempfile.TemporaryDirectory() as tmp:
        if postgres:
            with private_pg_schema(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG), "crash") as url:
                outcome = asyncio.run(crash_run(url, Path(tmp), events))
        else:
            outcome = asyncio.run(crash_run(f"sqlite:///{tmp}/crash.db", Path(tmp), events))
    suffix = "_postgres" if postgres else ""
    extra = {
        "events": events,
        "accepted_before_kill": outcome.accepted_before_kill,
        "resent": outcome.resent,
    }
    emit(f"crash_lost{suffix}", len(outcome.lost), "alerts", "0", **extra)
    emit(f"crash_duplicates{suffix}", len(outcome.duplicates), "alerts", "0", **extra)
    emit(f"crash_doubled_conversations{suffix}", outcome.doubled_conversations, "rows", "0")
    emit(f"crash_orphans{suffix}", len(outcome.orphans), "processes", "0", workers=outcome.workers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    args = parser.parse_args()
    main(args.quick, args.postgres)
