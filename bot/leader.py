"""Leadership among replicas: exactly one `crmbot run` process does the timed work.

On PostgreSQL the leader is the replica holding an advisory lock on a connection of its
own; the others try again every ``interval`` seconds, so when the leader dies (its
connection closes and the lock goes with it) another takes over within a few seconds.
On SQLite there is one process, and it leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from storage.advisory import AdvisoryLock
from storage.db import Database

log = logging.getLogger(__name__)

LOCK_NAME = "crmbot-leader"
INTERVAL = 2.0  # seconds between checks (fail-over takes at most about this long)


class Leadership:
    """Whether this replica leads; ``on_change`` hears of every change, ``on_tick`` is
    called on the leader after every check."""

    def __init__(self, db: Database, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._lock = None if db.is_sqlite else AdvisoryLock(db.url, LOCK_NAME)
        self._leader = self._lock is None
        self.on_change: list[Callable[[bool], None]] = []
        self.on_tick: list[Callable[[], None]] = []

    def is_leader(self) -> bool:
        """Whether this replica runs the scheduled jobs now."""
        return self._leader

    async def run(self, stop: asyncio.Event) -> None:
        """Take, keep and re-check the lead until ``stop`` is set, then give it up."""
        lock = self._lock
        try:
            while not stop.is_set():
                if lock is not None:
                    self._set(await asyncio.to_thread(lock.acquire))
                if self._leader:
                    for tick in self.on_tick:
                        tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
        finally:
            if lock is not None:
                self._set(False)
                await asyncio.to_thread(lock.dispose)

    def _set(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        log.warning("this replica %s the leader", "is now" if leader else "is no longer")
        for listener in self.on_change:
            try:
                listener(leader)
            except Exception:
                log.exception("a leadership listener failed")
