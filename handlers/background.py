"""One background job at a time, asked for from any thread: the shape the sentiment
re-labeller and the CRM enricher share.

``request()`` may be called from the event loop or from a worker thread (ingest runs in
threads); a request while a run is under way asks for one more run after it, so nothing
requested is missed and two runs never overlap.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class BackgroundRun(ABC):
    """Runs :meth:`run` on the bound loop whenever asked, one run at a time."""

    what = "background work"  # named in the log when a run fails

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[int] | None = None
        self._again = False

    @property
    @abstractmethod
    def enabled(self) -> bool:
        """Whether runs happen at all (requests are refused otherwise)."""

    @abstractmethod
    async def run(self) -> int:
        """Do the work that is waiting; returns how much was done."""

    async def after_run(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Called after each run, failed or not (e.g. to schedule the next retry)."""

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that runs the work (requests from other threads are sent to it)."""
        self._loop = loop

    def request(self) -> bool:
        """Ask for a run soon, from any thread; False when disabled or no loop runs."""
        if not self.enabled:
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            target = self._loop
            if target is None or target.is_closed() or not target.is_running():
                return False
            target.call_soon_threadsafe(self._start)
            return True
        self._start()
        return True

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._guarded())

    async def _guarded(self) -> int:
        try:
            done = await self.run()
            while self._again:
                self._again = False
                done += await self.run()
            return done
        except Exception:
            log.exception("%s failed", self.what)
            return 0
        finally:
            await self.after_run()

    async def idle(self) -> None:
        """Wait for the current run (tests, the demo, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)
