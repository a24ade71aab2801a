"""Where alert latency goes, event by event: benchmarks/latency.py's run, printing each
event's latency by index (the first events after start, the worst ones) and, on request,
recording the bot process with py-spy while the webhooks are sent.

    python -m benchmarks.latency_tools.trace --events 150 [--discord] [--py-spy out.txt]
        [--probe timeline.tsv] [--print-all]

Not a figure: a tool for finding stalls (see benchmarks/README.md, "Where the time goes").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import latency, latency_discord
from benchmarks.latency_tools.pauses import gc_watcher, watch_loop


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _record(pid: int, out: str, seconds: float) -> Any:
    """py-spy recording ``pid`` (idle threads too) for ``seconds`` into ``out``."""
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
    return await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--idle",
        "--threads",
        "--format",
        "raw",
        "--rate",
        "200",
        "--nonblocking",
        *(["--gil"] if os.environ.get("PY_SPY_GIL") else []),
        "--duration",
        str(max(1, round(seconds))),
        "-o",
        out,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def trace(
    events: int, discord: bool, spy_out: str | None, probe: str | None = None
) -> dict[str, Any]:
    """Run the latency benchmark once; returns when each event was sent ("sent") and its
    latency in ms, by index ("latency_ms")."""
    started: dict[str, Any] = {}
    original_start, original_fire = latency.start_bot, latency.fire

    async def start_bot(workdir: Path, config: str, env: dict[str, str]) -> tuple[Any, str]:
        module = "bot"
        if probe:
            env = {**env, "CRMBOT_PROBE_OUT": probe}
            module = "benchmarks.latency_tools.probe"
        proc, url = await original_start(workdir, config, env, module)
        started["pid"] = proc.pid
        return proc, url

    async def fire(url: str, count: int) -> dict[str, float]:
        spy = None
        if spy_out:
            spy = await _record(started["pid"], spy_out, count / latency.RATE + 1)
            await asyncio.sleep(0.3)  # py-spy attaches
        cpu = _cpu_seconds(started["pid"])
        began = time.monotonic()
        sent = await original_fire(url, count)
        await asyncio.sleep(1.0)  # the last alerts go out
        started["cpu_ms_per_event"] = (_cpu_seconds(started["pid"]) - cpu) * 1000 / count
        started["sent"] = sent
        print(f"sent {count} in {time.monotonic() - began:.2f}s")
        if spy is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(spy.wait(), timeout=30)
        return sent

    module = latency_discord if discord else latency
    pauses: list[tuple[float, str, float]] = []  # this process: GC passes and loop lags
    started["pauses"] = pauses
    on_gc = gc_watcher(lambda t, what, took: pauses.append((t, what, took)))
    gc.callbacks.append(on_gc)
    lagging = asyncio.get_running_loop().create_task(
        watch_loop(lambda t, what, took: pauses.append((t, what, took)))
    )
    module.start_bot = start_bot  # type: ignore[attr-defined]
    module.fire = fire  # type: ignore[attr-defined]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            values = await module.run(events, Path(tmp))
        started["latency_ms"] = values
        return started
    finally:
        lagging.cancel()
        gc.callbacks.remove(on_gc)
        module.start_bot = original_start  # type: ignore[attr-defined]
        module.fire = original_fire  # type: ignore[attr-defined]


def report(values: list[float], print_all: bool) -> None:
    """First 20 events, the 10 worst (by index) and p50/p99."""
    p50, p99 = latency.percentiles(values)
    print(f"p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {max(values):.1f} ms  n {len(values)}")
    shown = range(len(values)) if print_all else range(min(20, len(values)))
    print("first: " + " ".join(f"{i}:{values[i]:.0f}" for i in shown))
    worst = sorted(range(len(values)), key=lambda i: -values[i])[:10]
    print("worst: " + " ".join(f"{i}:{values[i]:.0f}" for i in sorted(worst)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=150)
    parser.add_argument("--discord", action="store_true")
    parser.add_argument("--py-spy", dest="spy")
    parser.add_argument("--probe", help="write a timeline of the bot process here")
    parser.add_argument("--print-all", action="store_true")
    args = parser.parse_args()
    found = asyncio.run(trace(args.events, args.discord, args.spy, args.probe))
    if args.probe:
        timeline = {"sent": found["sent"], "latency_ms": found["latency_ms"]}
        Path(args.probe + ".sent.json").write_text(json.dumps(timeline))
    report(found["latency_ms"], args.print_all)
    first = min(found["sent"].values())
    pauses = [(t - first, what, took) for t, what, took in found["pauses"] if t >= first]
    worst = sorted(pauses, key=lambda p: -p[2])[:5]
    print(
        "benchmark process pauses: "
        + ", ".join(f"{w} {d * 1000:.0f} ms at {t:.2f}s" for t, w, d in worst)
    )
    print(f"bot CPU {found['cpu_ms_per_event']:.2f} ms per event")


if __name__ == "__main__":
    main()
