"""`make bench`: run every benchmark, each in its own process (so one benchmark's memory
or warm caches never colour another's figures); each prints one JSON line per figure."""

from __future__ import annotations

import argparse
import subprocess
import sys

BENCHMARKS = (
    "benchmarks.ingest",
    "benchmarks.rules",
    "benchmarks.burst",
    "benchmarks.latency",
    "benchmarks.latency_discord",
    "benchmarks.metrics",
    "benchmarks.suggest_intent",
    "benchmarks.sentiment",
    "benchmarks.crash",
    "benchmarks.fuzz",
    "benchmarks.replicas",
    "benchmarks.faults",
    "benchmarks.webhook_ingest",
    "benchmarks.kb_search",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    parser.add_argument("only", nargs="*", help="module names to run (default: all)")
    args = parser.parse_args()
    failed = []
    for name in args.only or BENCHMARKS:
        module = name if "." in name else f"benchmarks.{name}"
        print(f"# {module}", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", module, *(["--quick"] if args.quick else [])]
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
