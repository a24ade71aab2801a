"""alert_latency_p50_ms and alert_latency_p99_ms (BENCHMARKS.md).

`crmbot run` (a separate process, SQLite, Slack in HTTP mode) receives signed generic
webhooks at 50 events/s, spread over 50 channels (Slack allows about one post per second
per channel), on routes without group_wait. The loopback fake Slack records when each
alert's chat.postMessage arrives. Latency is measured from the moment the webhook request
was *sent* until the post arrived: an upper bound of "accepted (durably stored) -> post",
which also includes the HTTP round trip and the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import emit
from bot.sources.signatures import crmbot_signature
from handlers.percentiles import nearest_ranks
from tests.fakes.slack_api import FakeSlack

CHANNELS = 50
RATE = 50  # events per second
SECRET = "bench-webhook-secret"


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each posted message arrived."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: dict[str, float] = {}

    def _post(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage" and not params.get("thread_ts"):
            raw = json.dumps(params)
            start = raw.find("LAT-")
            if start >= 0:
                self.arrivals.setdefault(raw[start : start + 12], time.monotonic())
        return super()._post(method, params)


def slack_channel(lane: int) -> str:
    return f'slack = "C0BENCH{lane:03d}"'


def config_text(channel: Callable[[int], str] = slack_channel, extra: str = "") -> str:
    """50 lanes: a rule, a route and a channel each (``channel`` gives its chat id line)."""
    lines = ['[alerts]\ndefault_channel = "c0"\n', extra]
    for i in range(CHANNELS):
        lines.append(f"[channels.c{i}]\n{channel(i)}\nmax_posts_per_minute = 120\n")
    for i in range(CHANNELS):
        lines.append(
            f'[[rules]]\nname = "r{i}"\nkeywords = ["lane{i}"]\nlabels = {{ lane = "{i}" }}\n'
        )
    for i in range(CHANNELS):
        lines.append(f'[[routes]]\nmatch = {{ lane = "{i}" }}\nchannel = "c{i}"\n')
    return "".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError("crmbot run exited during start-up")
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("crmbot run did not become healthy")


async def start_bot(
    workdir: Path, config: str, env: dict[str, str], module: str = "bot"
) -> tuple[Any, str]:
    """`crmbot run` (``python -m module run``) in its own process on SQLite with ``config``
    and the chat ``env``; returns (process, base URL) once it is healthy."""
    path = workdir / "crmbot.toml"
    path.write_text(config)
    port = free_port()
    full = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "CRMBOT_CONFIG": str(path),
        "CRMBOT_WEBHOOK_SECRET": SECRET,
        "CRMBOT_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=full,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, proc)
    except BaseException:
        await stop_bot(proc)
        raise
    return proc, url


async def stop_bot(proc: Any) -> None:
    proc.terminate()
    await asyncio.wait_for(proc.wait(), timeout=30)


async def fire(url: str, events: int) -> dict[str, float]:
    """Send ``events`` signed webhooks at RATE per second, one lane each in turn; returns
    when each marker was sent."""
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        began = time.monotonic()
        tasks = []
        for n in range(events):
            marker = f"LAT-{n:08d}"
            body = json.dumps(
                {
                    "type": "mention",
                    "source": "bench",
                    "id": marker,
                    "platform": "twitter",
                    "author": {"handle": f"user{n}", "followers": 10},
                    "text": f"{marker} lane{n % CHANNELS} is the app down?",
                    "posted_at": "2026-11-20T09:00:00Z",
                }
            ).encode()
            headers = {
                "content-type": "application/json",
                "X-Crmbot-Signature": crmbot_signature(SECRET, body),
            }
            await asyncio.sleep(max(0.0, began + n / RATE - time.monotonic()))
            sent[marker] = time.monotonic()
            tasks.append(
                asyncio.create_task(
                    client.post(f"{url}/webhooks/bench", content=body, headers=headers)
                )
            )
        responses = await asyncio.gather(*tasks)
        if any(r.status_code != 202 for r in responses):
            raise RuntimeError(f"webhook refused: {[r.status_code for r in responses][:5]}")
    return sent


def latencies(sent: dict[str, float], arrivals: dict[str, float], chat: str) -> list[float]:
    """Milliseconds from sending each webhook to its alert's arrival at the fake chat."""
    missing = len(sent) - len(arrivals)
    if missing:
        raise RuntimeError(f"{missing} alerts never reached the fake {chat}")
    return [(arrivals[m] - t) * 1000 for m, t in sent.items()]


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``values`` (nearest rank, as everywhere in crmbot)."""
    p50, p99 = nearest_ranks(values, (0.5, 0.99))
    if p50 is None or p99 is None:
        raise RuntimeError("no latencies were measured")
    return p50, p99


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection in this process while it sends and times: a full pass over
    the sender's and the fake chat's objects stalls this process for 100-400 ms, which
    would be counted as the bot's latency (found with benchmarks/latency_tools/trace.py)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def run(events: int, workdir: Path) -> list[float]:
    slack = TimedSlack(bot_token="xoxb-bench")
    await slack.start()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": slack.api_url,
    }
    try:
        proc, url = await start_bot(workdir, config_text(), env)
        try:
            with paused_gc():
                sent = await fire(url, events)
                with contextlib.suppress(AssertionError, TimeoutError):
                    await slack.wait_for(lambda: len(slack.arrivals) >= events, seconds=30)
        finally:
            await stop_bot(proc)
    finally:
        await slack.stop()
    return latencies(sent, slack.arrivals, "Slack")


def main(quick: bool = False) -> None:
    events = 150 if quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        p50, p99 = percentiles(asyncio.run(run(events, Path(tmp))))
    extra = {"events": events, "rate_per_s": RATE, "channels": CHANNELS}
    emit("alert_latency_p50_ms", p50, "ms", "info", **extra)
    emit("alert_latency_p99_ms", p99, "ms", "<= 10", **extra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
