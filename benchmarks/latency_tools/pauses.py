"""Noting a process's pauses: event-loop lag and garbage-collector passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

Note = Callable[[float, str, float], None]  # (when it began, what, seconds)


async def watch_loop(note: Note, floor: float = 0.004) -> None:
    """Sleep 1 ms at a time for ever; note each wake-up later than ``floor``."""
    while True:
        began = time.monotonic()
        await asyncio.sleep(0.001)
        late = time.monotonic() - began - 0.001
        if late > floor:
            note(began, "loop lag", late)


def gc_watcher(note: Note, floor: float = 0.002) -> Callable[[str, dict[str, Any]], None]:
    """A ``gc.callbacks`` entry noting each collection longer than ``floor``."""
    began: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began["t"] = time.monotonic()
        elif "t" in began:
            start = began.pop("t")
            took = time.monotonic() - start
            if took > floor:
                note(start, f"gc gen{info['generation']}", took)

    return on_gc
