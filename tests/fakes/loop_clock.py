"""Time for code that reads the event loop's clock (aiolimiter, anyio/httpx timeouts,
``asyncio.wait_for``) moved forward by the test, the way FakeClock moves the bot's time.

``loop.time()`` drives every timer of an asyncio loop, so jumping it ahead makes the timers
that fall due fire on the loop's next turn, with no real waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LoopClock:
    """The running loop's clock plus an offset the test controls."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.offset = 0.0
        self._real: Callable[[], float] = loop.time

    def time(self) -> float:
        return self._real() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the loop's time forward; due timers fire when the loop next runs."""
        self.offset += seconds


@contextmanager
def loop_clock() -> Iterator[LoopClock]:
    """Install a LoopClock on the running loop. It stays after the block: a loop's clock
    must never go back (timers set in the jumped time would wait that long for real), and
    each test has its own loop."""
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    setattr(loop, "time", clock.time)  # noqa: B010 (an instance attribute shadows the method)
    yield clock


async def turns(n: int = 20) -> None:
    """Let the loop run ``n`` times (ready callbacks only: no timer can come due)."""
    for _ in range(n):
        await asyncio.sleep(0)
