"""Percentiles, one definition for the whole project: nearest rank, the value at rank
``ceil(p * n)`` of the sorted values (README "Metrics, defined"). The SQL in
:mod:`storage.metrics` and the sketches in :mod:`storage.rollups` compute the same rank."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def nearest_ranks(values: Iterable[float], ps: Sequence[float]) -> list[float | None]:
    """The nearest-rank percentile of ``values`` for each ``p`` in ``ps`` (0 < p <= 1),
    sorting once; None for each when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return [None for _ in ps]
    n = len(ordered)
    return [ordered[min(n, max(1, math.ceil(p * n - 1e-9))) - 1] for p in ps]


def nearest_rank(values: Iterable[float], p: float) -> float | None:
    """The nearest-rank ``p`` percentile of ``values`` (None when there are none)."""
    return nearest_ranks(values, (p,))[0]
