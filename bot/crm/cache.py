"""A small time-to-live cache for CRM reads, on an injected monotonic clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Up to ``size`` values, each forgotten ``ttl`` seconds after it was stored."""

    def __init__(self, ttl: float, clock: Callable[[], float], size: int = 2048) -> None:
        self.ttl = ttl
        self._clock = clock
        self._size = size
        self._items: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """The value stored under ``key`` if it is still fresh."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if found[0] <= self._clock():
                del self._items[key]
                return None
            return found[1]

    def put(self, key: str, value: V) -> None:
        """Store ``value``; the oldest entry makes room when full."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._items.pop(key, None)
            if len(self._items) >= self._size:
                del self._items[next(iter(self._items))]
            self._items[key] = (self._clock() + self.ttl, value)

    def forget(self, key: str) -> None:
        """Drop ``key`` (after a write, so the next read sees it)."""
        with self._lock:
            self._items.pop(key, None)
