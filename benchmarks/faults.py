"""fault_storm_lost, fault_storm_duplicates, fault_storm_posted, fault_storm_api_calls.

The real bot (CrmBot, the real SlackAdapter and slack_sdk) against the loopback fake Slack
answering 30% of chat.postMessage calls 429 (Retry-After 0 or 1) and 20% 500. 2,000
mentions (--quick: 300), each from a new author, routed over 20 channels; the real
dispatcher runs on a clock 30x faster than the wall clock (backoff and Retry-After pass on
it) until the outbox holds nothing pending (or 2 simulated hours). The adapter's own
in-call retries are off, so every fault reaches the outbox. Figures: alerts neither
posted nor dead-lettered (goal 0); alerts posted more than once (by the outbox key in the
message metadata); alert rows posted; Web API calls made.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import Session, col, func, select

from benchmarks.burst import SPEEDUP, FastClock, pending_rows
from benchmarks.common import emit
from bot.app import CrmBot
from bot.chat.slack import BurstLimit, RetryPolicy, SlackAdapter, SlackConnection
from bot.config_loader import load_config_text
from handlers.events import Mention
from storage.models import Outbox
from tests.fakes.slack_api import FakeSlack

CHANNELS = 20
RATE_LIMITED = 0.30
SERVER_ERROR = 0.20
BOUND = timedelta(hours=2)  # simulated time allowed for the outbox to empty
TOKEN = "xoxb-1111111111-2222222222-fAkEbOtToKeNvAlUe0000"


def config_text(channels: int) -> str:
    """One rule and route per channel: mentions of ``topicK`` go to channel cK."""
    parts = ['[alerts]\ndefault_channel = "c0"\n']
    for k in range(channels):
        parts.append(f'[channels.c{k}]\nslack = "C{k:04d}"\n')
        parts.append(
            f'[[rules]]\nname = "topic{k}"\nkeywords = ["topic{k}"]\nlabels = {{ ch = "c{k}" }}\n'
        )
        parts.append(f'[[routes]]\nmatch = {{ ch = "c{k}" }}\nchannel = "c{k}"\n')
    return "\n".join(parts)


def storm_mentions(n: int, channels: int) -> list[Mention]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Mention(
            source="twitter",
            external_id=f"storm-{i}",
            platform="twitter",
            author_handle=f"stormer{i}",
            text=f"topic{i % channels} is broken for me (#{i})",
            posted_at=start + timedelta(seconds=i),
        )
        for i in range(n)
    ]


@dataclass(frozen=True)
class StormResult:
    lost: int
    duplicates: int
    posted: int
    dead: int
    pending: int
    api_calls: int
    simulated_s: float


async def run(n: int, workdir: Path, channels: int = CHANNELS) -> StormResult:
    """Ingest ``n`` mentions and deliver them through the storm."""
    fake = FakeSlack(bot_token=TOKEN)
    await fake.start()
    fake.storm({"chat.postMessage"}, RATE_LIMITED, SERVER_ERROR)
    clock = FastClock()
    began = clock.now()
    connection = SlackConnection(
        bot_token=SecretStr(TOKEN), signing_secret=SecretStr("s" * 32), api_url=fake.api_url
    )
    adapter = SlackAdapter(
        connection, retry=RetryPolicy(max_retries=0), burst=BurstLimit(posts=1000, seconds=1)
    )
    config = load_config_text(config_text(channels))
    bot = CrmBot(f"sqlite:///{workdir / 'storm.db'}", config, [adapter], clock=clock)
    try:
        await bot.start()
        bot.dispatcher.poll_interval = 0.05
        stop = asyncio.Event()
        dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
        events = storm_mentions(n, channels)
        for start in range(0, n, 500):
            await asyncio.to_thread(bot.ingest, events[start : start + 500])
        deadline = time.monotonic() + BOUND.total_seconds() / SPEEDUP
        while pending_rows(bot) and time.monotonic() < deadline:  # noqa: ASYNC110 (polls the DB)
            await asyncio.sleep(0.1)
        stop.set()
        await dispatcher
        simulated = (clock.now() - began).total_seconds()
        with Session(bot.db.engine) as session:
            by_status = dict(
                session.exec(
                    select(Outbox.status, func.count())
                    .where(Outbox.kind == "alert")
                    .group_by(col(Outbox.status))
                ).all()
            )
        await bot.stop()
    finally:
        bot.ingestor.close()
        bot.db.dispose()
        await fake.stop()
    keys = Counter(
        str((m.metadata or {}).get("event_payload", {}).get("key"))
        for m in fake.posts()
        if m.metadata
    )
    posted, dead = by_status.get("sent", 0), by_status.get("dead", 0)
    return StormResult(
        lost=n - posted - dead,
        duplicates=sum(count - 1 for count in keys.values() if count > 1),
        posted=posted,
        dead=dead,
        pending=by_status.get("pending", 0),
        api_calls=len(fake.calls_to("chat.postMessage")),
        simulated_s=simulated,
    )


def main(quick: bool = False) -> None:
    n = 300 if quick else 2_000
    logging.basicConfig(level=logging.ERROR)  # thousands of expected retry warnings
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(n, Path(tmp)))
    extra = {"mentions": n, "channels": CHANNELS, "rate_limited": RATE_LIMITED}
    emit(
        "fault_storm_lost",
        result.lost,
        "alerts",
        "0",
        dead=result.dead,
        pending=result.pending,
        **extra,
    )
    emit("fault_storm_duplicates", result.duplicates, "alerts", "info", **extra)
    emit("fault_storm_posted", result.posted, "alerts", "info", **extra)
    emit(
        "fault_storm_api_calls",
        result.api_calls,
        "calls",
        "info",
        simulated_s=round(result.simulated_s),
        server_error=SERVER_ERROR,
        **extra,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
