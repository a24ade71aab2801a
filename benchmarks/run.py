"""`make bench`: run every benchmark; each prints one JSON line per figure."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = (
    "benchmarks.ingest",
    "benchmarks.rules",
    "benchmarks.burst",
    "benchmarks.latency",
    "benchmarks.metrics",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    parser.add_argument("only", nargs="*", help="module names to run (default: all)")
    args = parser.parse_args()
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(name if "." in name else f"benchmarks.{name}")
        print(f"# {module.__name__}", file=sys.stderr, flush=True)
        module.main(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
