"""replicas_duplicate_posts, replicas_lost and replicas_throughput_ratio (BENCHMARKS.md).

Real `crmbot run` processes on one PostgreSQL schema, Slack in HTTP mode against a
loopback fake Slack that takes 20 ms to answer each chat.postMessage. Mentions arrive as
signed generic webhooks (batches of 10), spread over 50 channels, so no channel goes over
its post budget and no alert is folded into a digest: each mention is one post.

Same run, two phases on disjoint channels: first one replica alone gets ``events``
mentions; then a second replica starts and ``events`` more are split across both.
Throughput is posted alerts per second while the replicas drain the backlog left once
every webhook was accepted (ingest no longer competing for the same processes; the
whole phase's rate, first webhook to last post, is reported too); the ratio is two
replicas' over one's. Duplicates and losses are counted over the two-replica phase
(every marker must be posted exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from benchmarks.common import emit, private_pg_schema
from benchmarks.latency import free_port, wait_healthy
from bot.sources.signatures import crmbot_signature
from tests.fakes.slack_api import FakeSlack

CHANNELS = 50
BATCH = 10
POST_DELAY = 0.02  # seconds the fake Slack takes per post
SECRET = "bench-webhook-secret"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARKER = re.compile(r"REP-\d{8}")


class SlowSlack(FakeSlack):
    """The fake Slack, taking ``POST_DELAY`` per chat.postMessage; counts each marker."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.marks: Counter[str] = Counter()
        self.times: list[float] = []  # when each marked post arrived
        self.last_post = 0.0

    async def _api_call(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["method"] == "chat.postMessage":
            await asyncio.sleep(POST_DELAY)
        return await super()._api_call(request)

    def _post(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = super()._post(method, params)
        if method == "chat.postMessage" and answer.get("ok") and not params.get("thread_ts"):
            found = MARKER.search(str(params.get("text", "")) + json.dumps(params.get("blocks")))
            if found:
                self.marks[found.group()] += 1
                self.last_post = time.monotonic()
                self.times.append(self.last_post)
        return answer


def config_text(extra: str = "") -> str:
    """50 channels (lane N routes to channel cN), plus ``extra`` TOML."""
    lines = ['[alerts]\ndefault_channel = "c0"\n']
    for i in range(CHANNELS):
        lines.append(f'[channels.c{i}]\nslack = "C0REP{i:03d}"\nmax_posts_per_minute = 120\n')
    for i in range(CHANNELS):
        lines.append(
            f'[[rules]]\nname = "r{i}"\nkeywords = ["lane{i}"]\nlabels = {{ lane = "{i}" }}\n'
        )
    for i in range(CHANNELS):
        lines.append(f'[[routes]]\nmatch = {{ lane = "{i}" }}\nchannel = "c{i}"\n')
    return "".join(lines) + extra


class Replica:
    """One `crmbot run` process; its log goes to a file."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    def logged(self, needle: str) -> bool:
        return needle in self.log.read_text(encoding="utf-8", errors="replace")

    async def wait_logged(self, needle: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not self.logged(needle):
            if time.monotonic() > deadline or self.proc.returncode is not None:
                raise RuntimeError(f"replica never logged {needle!r}")
            await asyncio.sleep(0.05)


class Cluster:
    """Replicas of `crmbot run` sharing one database and one fake Slack."""

    def __init__(self, database_url: str, slack: FakeSlack, config: Path, workdir: Path) -> None:
        self.database_url = database_url
        self.slack = slack
        self.config = config
        self.workdir = workdir
        self.replicas: list[Replica] = []

    async def start_replica(self) -> Replica:
        port = free_port()
        log = self.workdir / f"replica-{len(self.replicas)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CRMBOT_CONFIG": str(self.config),
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_API_URL": self.slack.api_url,
            "CRMBOT_WEBHOOK_SECRET": SECRET,
            "CRMBOT_LOG_LEVEL": "WARNING",
        }
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port),
                env=env, stdout=out, stderr=out,
            )  # fmt: skip
        replica = Replica(proc, f"http://127.0.0.1:{port}", log)
        await wait_healthy(replica.url, proc)
        self.replicas.append(replica)
        return replica

    async def send(self, targets: list[Replica], markers: list[str], lanes: range) -> None:
        """Post one mention per marker as signed webhook batches, round-robin over
        ``targets``, spread over ``lanes``."""
        batches = [markers[i : i + BATCH] for i in range(0, len(markers), BATCH)]
        gate = asyncio.Semaphore(8)

        async def one(n: int, batch: list[str]) -> None:
            events = [
                {
                    "type": "mention",
                    "source": "bench",
                    "id": marker,
                    "platform": "twitter",
                    "author": {"handle": f"u-{marker}", "followers": 10},
                    "text": f"{marker} lane{lanes[k % len(lanes)]} is down?",
                    "posted_at": "2026-11-20T09:00:00Z",
                }
                for k, marker in enumerate(batch, start=n * BATCH)
            ]
            async with gate:
                await self.post_events(targets[n % len(targets)], events)

        await asyncio.gather(*(one(n, batch) for n, batch in enumerate(batches)))

    async def post_events(self, target: Replica, events: list[dict[str, Any]]) -> None:
        """One signed generic webhook carrying ``events``."""
        body = json.dumps({"events": events}).encode()
        headers = {
            "content-type": "application/json",
            "X-Crmbot-Signature": crmbot_signature(SECRET, body),
        }
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{target.url}/webhooks/bench", content=body, headers=headers
            )
        if response.status_code != 202:
            raise RuntimeError(f"webhook refused: HTTP {response.status_code}")

    async def stop(self) -> None:
        for replica in self.replicas:
            if replica.proc.returncode is None:
                replica.proc.terminate()
        for replica in self.replicas:
            try:
                await asyncio.wait_for(replica.proc.wait(), timeout=30)
            except TimeoutError:
                replica.proc.kill()
                await replica.proc.wait()


async def phase(
    cluster: Cluster, targets: list[Replica], prefix: int, events: int, lanes: range
) -> tuple[float, list[str]]:
    """Send ``events`` mentions; returns (posted alerts per second, markers)."""
    rate, markers, _ = await timed_phase(cluster, targets, prefix, events, lanes)
    return rate, markers


async def timed_phase(
    cluster: Cluster, targets: list[Replica], prefix: int, events: int, lanes: range
) -> tuple[float, list[str], float]:
    """:func:`phase`, also returning the posted alerts per second once every webhook was
    accepted (the backlog drain, with no ingest competing; the whole phase's rate when
    less than a fifth of the posts were left by then)."""
    slack = cluster.slack
    assert isinstance(slack, SlowSlack)
    markers = [f"REP-{prefix * 10_000_000 + n:08d}" for n in range(events)]
    began = time.monotonic()
    await cluster.send(targets, markers, lanes)
    accepted = time.monotonic()
    await slack.wait_for(lambda: all(slack.marks[m] for m in markers), seconds=300)
    await asyncio.sleep(1.0)  # let a duplicate, if any, arrive too
    overall = events / (max(slack.last_post, began + 1e-3) - began)
    backlog = sum(1 for t in slack.times if t > accepted)
    if backlog < events / 5 or slack.last_post <= accepted:
        return overall, markers, overall
    return overall, markers, backlog / (slack.last_post - accepted)


async def run(events: int, workdir: Path, base_url: str) -> dict[str, float]:
    slack = SlowSlack(bot_token="xoxb-bench")
    await slack.start()
    config = workdir / "crmbot.toml"
    config.write_text(config_text())
    half = CHANNELS // 2
    with private_pg_schema(base_url, "rep") as url:
        cluster = Cluster(url, slack, config, workdir)
        try:
            first = await cluster.start_replica()
            one_rate, _, one_drain = await timed_phase(cluster, [first], 1, events, range(0, half))
            second = await cluster.start_replica()
            two_rate, markers, two_drain = await timed_phase(
                cluster, [first, second], 2, events, range(half, CHANNELS)
            )
        finally:
            await cluster.stop()
            await slack.stop()
    duplicates = sum(max(0, slack.marks[m] - 1) for m in markers)
    lost = sum(1 for m in markers if slack.marks[m] == 0)
    return {
        "one": one_rate,
        "two": two_rate,
        "duplicates": duplicates,
        "lost": lost,
        "one_drain": one_drain,
        "two_drain": two_drain,
    }


def main(quick: bool = False) -> None:
    events = 400 if quick else 1000
    base_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_URL
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(events, Path(tmp), base_url))
    extra = {"events": events, "channels": CHANNELS, "post_ms": POST_DELAY * 1000}
    emit("replicas_duplicate_posts", result["duplicates"], "posts", "0", **extra)
    emit("replicas_lost", result["lost"], "alerts", "0", **extra)
    emit(
        "replicas_throughput_ratio",
        result["two_drain"] / result["one_drain"],
        "x",
        ">= 1.7",
        one_per_s=round(result["one_drain"], 1),
        two_per_s=round(result["two_drain"], 1),
        one_per_s_with_ingest=round(result["one"], 1),
        two_per_s_with_ingest=round(result["two"], 1),
        **extra,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
