"""alert_latency_p99_ms_discord (BENCHMARKS.md): benchmarks/latency.py with the loopback
fake Discord (REST + gateway) in place of Slack.

`crmbot run` (its own process, SQLite, the real discord.py client pointed at the fake with
DISCORD_API_URL / DISCORD_GATEWAY_URL) receives signed webhooks at 50 events/s over 50
channels; latency runs from sending the webhook until the fake Discord receives the
alert's ``POST /channels/{id}/messages`` (each alert then also opens its thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit
from benchmarks.latency import (
    CHANNELS,
    RATE,
    config_text,
    fire,
    latencies,
    paused_gc,
    percentiles,
    start_bot,
    stop_bot,
)
from tests.fakes.discord_api import GUILD_ID, TOKEN, FakeDiscord, Message

BASE_CHANNEL = 4_100_000_000_000_000_000


def channel_id(lane: int) -> str:
    return str(BASE_CHANNEL + lane)


class TimedDiscord(FakeDiscord):
    """The fake Discord, noting when each alert arrived."""

    def __init__(self) -> None:
        super().__init__(channels={channel_id(i): f"c{i}" for i in range(CHANNELS)})
        self.arrivals: dict[str, float] = {}

    def _store(
        self, channel: str, body: dict[str, Any], files: list[str], author: dict[str, Any]
    ) -> Message:
        if channel in self.channels:
            raw = str(body.get("embeds"))
            start = raw.find("LAT-")
            if start >= 0:
                self.arrivals.setdefault(raw[start : start + 12], time.monotonic())
        return super()._store(channel, body, files, author)


async def run(events: int, workdir: Path) -> list[float]:
    discord = TimedDiscord()
    await discord.start()
    env = {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": discord.api_url,
        "DISCORD_GATEWAY_URL": discord.gateway_url,
    }
    config = config_text(
        lambda lane: f'discord = "{channel_id(lane)}"', f'[discord]\nguilds = ["{GUILD_ID}"]\n'
    )
    try:
        proc, url = await start_bot(workdir, config, env)
        try:
            await discord.wait_for(lambda: discord.identify is not None, seconds=30)
            with paused_gc():
                sent = await fire(url, events)
                with contextlib.suppress(TimeoutError):
                    await discord.wait_for(lambda: len(discord.arrivals) >= events, seconds=30)
        finally:
            await stop_bot(proc)
    finally:
        await discord.stop()
    return latencies(sent, discord.arrivals, "Discord")


def main(quick: bool = False) -> None:
    events = 150 if quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        p50, p99 = percentiles(asyncio.run(run(events, Path(tmp))))
    extra = {"events": events, "rate_per_s": RATE, "channels": CHANNELS}
    emit("alert_latency_p50_ms_discord", p50, "ms", "info", **extra)
    emit("alert_latency_p99_ms_discord", p99, "ms", "<= 20", **extra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
