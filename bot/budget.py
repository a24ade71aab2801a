"""Per-destination post budget (Slack allows about one message per second per channel):
a sliding one-minute window of what was posted."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)


class PostBudget:
    """Counts posts per destination over the last minute (seeded from the database
    whenever the destination's dispatch lease is taken, so it holds across replicas)."""

    def __init__(self) -> None:
        self._posts: dict[tuple[str, str], deque[datetime]] = {}

    def _window(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        posts = self._posts.setdefault(key, deque())
        while posts and posts[0] <= now - WINDOW:
            posts.popleft()
        return posts

    def available(self, key: tuple[str, str], now: datetime, per_minute: int) -> int:
        """How many more posts fit in the window now."""
        return max(0, per_minute - len(self._window(key, now)))

    def record(self, key: tuple[str, str], now: datetime) -> None:
        self._window(key, now).append(now)

    def next_slot(self, key: tuple[str, str], now: datetime) -> datetime:
        """When the oldest post in the window leaves it."""
        posts = self._window(key, now)
        return posts[0] + WINDOW if posts else now

    def seed(self, key: tuple[str, str], posted: list[datetime]) -> None:
        """Replace what is known of the destination's window with ``posted`` (oldest first),
        e.g. what every replica posted there, read from the database."""
        self._posts[key] = deque(sorted(posted))
