"""A single duration sketch: ddsketch's logarithmic bucket keys at 0.4% relative accuracy,
stored as two little int32 arrays (bucket keys, counts) so merging many is one numpy step.

The group rows of ``metric_rollup`` hold one each; ``metric_day`` rows hold many keyed by
group (:mod:`storage.rollup_packed`), with the same keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from ddsketch.mapping import LogarithmicMapping

RELATIVE_ACCURACY = 0.004  # changing it needs a migration that rebuilds (see 0010)
MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)
ZERO_KEY = -(2**31)


def key_of(value: float) -> int:
    """The sketch bucket of a duration (0 and below share one bucket)."""
    return ZERO_KEY if value <= 0 else int(MAPPING.key(value))


def value_of(key: int) -> float:
    """The value a bucket stands for (what a percentile in it reports)."""
    return 0.0 if key == ZERO_KEY else float(MAPPING.value(key))


def encode(keys: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]) -> bytes:
    """The stored form of a sketch (bucket keys, then their counts)."""
    return keys.astype("<i4").tobytes() + counts.astype("<i4").tobytes()


def decode(blob: bytes) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Bucket keys and counts of a stored sketch."""
    arr = np.frombuffer(blob, dtype="<i4")
    half = len(arr) // 2
    return arr[:half], arr[half:]


def merge(parts: Sequence[bytes], extra_keys: Iterable[int] = ()) -> bytes:
    """One sketch holding every part (and the extra bucket keys, one count each)."""
    keys = [decode(b)[0] for b in parts if b]
    counts = [decode(b)[1] for b in parts if b]
    extra = np.fromiter(extra_keys, dtype=np.int64)
    if len(extra):
        keys.append(extra)
        counts.append(np.ones(len(extra), dtype=np.int64))
    if not keys:
        return b""
    all_keys = np.concatenate(keys).astype(np.int64)
    all_counts = np.concatenate(counts).astype(np.int64)
    uniq, inverse = np.unique(all_keys, return_inverse=True)
    return encode(uniq, np.bincount(inverse, weights=all_counts).astype(np.int64))
