"""`crmbot run` with a timeline: every database transaction (who, how long it waited for the
SQLite write lock, how long it held it), every chat post and the event loop's lag, written
to ``$CRMBOT_PROBE_OUT`` (one tab-separated line each) when the process ends.

    python -m benchmarks.latency_tools.probe run --host ... --port ...   (as `python -m bot`)

Used by benchmarks/latency_tools/trace.py --probe; not a figure.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.latency_tools.pauses import gc_watcher, watch_loop

EVENTS: list[tuple[float, str, str, float, float]] = []  # (start, what, thread, wait, held)


def _caller() -> str:
    frame = sys._getframe(3)
    names: list[str] = []
    while frame is not None and len(names) < 2:
        path = frame.f_code.co_filename
        ours = "/bot/" in path or "/handlers/" in path or "/storage/" in path
        if ours and "storage/db.py" not in path:
            names.append(frame.f_code.co_name)
        frame = frame.f_back  # type: ignore[assignment]
    return ">".join(reversed(names)) or "?"


def install() -> None:
    from storage import db

    original = db.Database._serialized

    @contextmanager
    def serialized(self: Any) -> Iterator[None]:
        who = _caller()
        began = time.monotonic()
        with original(self):
            got = time.monotonic()
            try:
                yield
            finally:
                done = time.monotonic()
                EVENTS.append(
                    (began, who, threading.current_thread().name, got - began, done - got)
                )

    db.Database._serialized = serialized  # type: ignore[method-assign]

    from bot.dispatcher import Dispatcher

    post_once = Dispatcher._post_once

    async def timed_post(self: Any, adapter: Any, row: Any, card: Any, thread: Any) -> Any:
        began = time.monotonic()
        try:
            return await post_once(self, adapter, row, card, thread)
        finally:
            EVENTS.append((began, "POST", "loop", 0.0, time.monotonic() - began))

    Dispatcher._post_once = timed_post  # type: ignore[method-assign]

    from bot import runner

    serve = runner.serve

    async def serve_with_lag(*args: Any, **kwargs: Any) -> None:
        task = asyncio.get_running_loop().create_task(watch_loop(_note))
        try:
            await serve(*args, **kwargs)
        finally:
            task.cancel()

    runner.serve = serve_with_lag


def _note(began: float, what: str, took: float) -> None:
    EVENTS.append((began, what.upper().replace(" ", "-"), what.split()[0], 0.0, took))


def dump() -> None:
    out = os.environ.get("CRMBOT_PROBE_OUT")
    if not out:
        return
    with open(out, "w") as f:
        for began, what, thread, wait, held in sorted(EVENTS):
            f.write(f"{began:.6f}\t{what}\t{thread}\t{wait * 1000:.2f}\t{held * 1000:.2f}\n")


if __name__ == "__main__":
    install()
    gc.callbacks.append(gc_watcher(_note))
    atexit.register(dump)
    from bot.cli import main

    sys.argv[0] = "crmbot"
    main()
