"""CPU, statements and Python calls per alert, in one process: what holds still on a VM
whose wall-clock timings swing 2-3x (see benchmarks/README.md, "Alert latency, event by
event").

    python -m benchmarks.latency_tools.cpu [--events 300] [--calls]

Builds the bot as `crmbot run` does (benchmarks/latency.py's 50-lane config, SQLite in a
temporary file, both warm-ups) with a recording chat adapter that, like Slack's, looks
for posts after a crash (so alerts are marked "post started"), then for each event:
ingests it as one webhook's batch, and drains its alert. Prints, per alert, the process
CPU time and the statements of each half; ``--calls`` runs the database work in the
calling thread and counts Python function calls instead (cProfile: deterministic).

Not a figure: a tool for comparing two versions of the code in alternating runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event

from benchmarks.latency import config_text
from bot.app import CrmBot
from bot.chat.base import PostedRef
from bot.config_loader import load_config_text
from bot.dispatch_warmup import warm_up, warm_up_ingest
from handlers.cards import Card
from tests.conftest import RecordingAdapter, mention

T = TypeVar("T")


@dataclass
class FindingChat(RecordingAdapter):
    """The recording adapter, posting as Slack does: with a key to find the post by."""

    platform: str = "slack"
    finds_posts: bool = True

    async def post_once(
        self, destination: str, card: Card, thread: PostedRef | None, key: str
    ) -> PostedRef:
        return await self.post(destination, card, thread)


async def _inline(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return func(*args, **kwargs)


async def measure(events: int, calls: bool, workdir: Path) -> dict[str, float]:
    """Per alert: CPU ms, statements (and with ``calls`` Python calls) of ingest and delivery."""
    chat = FindingChat()
    bot = CrmBot(
        f"sqlite:///{workdir / 'cpu.db'}", load_config_text(config_text(), "bench"), [chat]
    )
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(bot.db.engine, "before_cursor_execute", count)
    real_to_thread = asyncio.to_thread
    if calls:
        asyncio.to_thread = _inline
    try:
        warm_up(bot.dispatcher)
        warm_up_ingest(bot.ingestor, bot.clock)
        gc.collect()
        gc.freeze()
        totals = dict.fromkeys(("ingest_ms", "deliver_ms", "ingest_stmts", "deliver_stmts"), 0.0)
        profiles = {"ingest": cProfile.Profile(), "deliver": cProfile.Profile()}
        for n in range(events):
            for half in ("ingest", "deliver"):
                began, stmts = time.process_time(), statements[0]
                if calls:
                    profiles[half].enable()
                if half == "ingest":
                    bot.ingest_groups([[mention(f"lane{n % 50} is the app down?")]])
                elif await bot.dispatcher.drain() != 1:
                    raise RuntimeError("the alert did not go out")
                if calls:
                    profiles[half].disable()
                totals[f"{half}_ms"] += (time.process_time() - began) * 1000
                totals[f"{half}_stmts"] += statements[0] - stmts
        if calls:
            for half, profile in profiles.items():
                totals[f"{half}_calls"] = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        return {name: value / events for name, value in totals.items()}
    finally:
        asyncio.to_thread = real_to_thread
        bot.ingestor.close()
        bot.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--calls", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = asyncio.run(measure(args.events, args.calls, Path(tmp)))
    print(" ".join(f"{name} {value:.2f}" for name, value in found.items()))


if __name__ == "__main__":
    main()
