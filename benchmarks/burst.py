"""burst_posts_over_budget, burst_unaccounted, burst_rss_mb (BENCHMARKS.md).

10,000 mentions (some authors posting several times) arrive in batches of 500 into one
route whose channel allows 50 posts a minute, while the real dispatcher drains the outbox
to an adapter that records every post. The bot runs on a clock 30x faster than the wall
clock so that budget minutes pass in seconds. Figures: posts above the budget in any
sliding minute; mentions that appear in no alert, follow-up or digest once everything is
delivered; peak resident memory of the bot process (and of its sentiment worker).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, func, select

from benchmarks.common import emit, mentions
from bot.app import CrmBot
from bot.chat.base import ChatAdapter, PostedRef
from bot.config_loader import load_config_text
from handlers.cards import AlertCard, Card, StatusCard
from handlers.events import Mention
from storage.models import Mention as MentionRow
from storage.models import Outbox

BUDGET = 50
SPEEDUP = 30.0
CONFIG = f"""
[alerts]
default_channel = "burst"

[channels.burst]
max_posts_per_minute = {BUDGET}
"""


class FastClock:
    """Wall-clock time running SPEEDUP times faster."""

    def __init__(self) -> None:
        self._start = datetime.now(UTC)
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._began) * SPEEDUP)


class CountingAdapter(ChatAdapter):
    """Records when (on the bot's clock) each post happened."""

    platform = "console"

    def __init__(self, clock: FastClock) -> None:
        self.clock = clock
        self.times: list[float] = []

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        self.times.append(self.clock.now().timestamp())
        return PostedRef(f"m{len(self.times)}")

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        return None


def max_per_minute(times: list[float]) -> int:
    window: deque[float] = deque()
    best = 0
    for moment in sorted(times):
        window.append(moment)
        while window[0] <= moment - 60:
            window.popleft()
        best = max(best, len(window))
    return best


def pending_rows(bot: CrmBot) -> int:
    with Session(bot.db.engine) as session:
        return int(
            session.exec(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
            ).one()
        )


async def run(events: list[Mention], workdir: Path) -> tuple[int, int, int]:
    clock = FastClock()
    adapter = CountingAdapter(clock)
    bot = CrmBot(
        f"sqlite:///{workdir / 'burst.db'}", load_config_text(CONFIG), [adapter], clock=clock
    )
    bot.dispatcher.poll_interval = 0.05
    bot.ingestor.warm_up()
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
    for start in range(0, len(events), 500):
        await asyncio.to_thread(bot.ingest, events[start : start + 500])
    deadline = time.monotonic() + 600 / SPEEDUP  # ten simulated minutes at most
    while pending_rows(bot) and time.monotonic() < deadline:  # noqa: ASYNC110 (polls the DB)
        await asyncio.sleep(0.1)
    stop.set()
    await dispatcher
    with Session(bot.db.engine) as session:
        stored = int(session.exec(select(func.count()).select_from(MentionRow)).one())
    pending = pending_rows(bot)
    await bot.stop()
    over = max(0, max_per_minute(adapter.times) - BUDGET)
    # every stored mention has exactly one alert or follow-up row; pending ones reached nobody
    unaccounted = (len(events) - stored) + pending
    return over, unaccounted, len(adapter.times)


def main(quick: bool = False) -> None:
    n = 2_000 if quick else 10_000
    events = mentions(n, authors=n // 3)
    with tempfile.TemporaryDirectory() as tmp:
        over, unaccounted, posts = asyncio.run(run(events, Path(tmp)))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    emit("burst_posts_over_budget", over, "posts", "0", mentions=n, posts=posts, budget=BUDGET)
    emit("burst_unaccounted", unaccounted, "mentions", "0", mentions=n)
    emit("burst_rss_mb", own, "MB", "<= 300", sentiment_worker_mb=round(workers, 1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
