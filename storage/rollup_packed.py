"""One day's figures of one measure for everyone at once: the ``metric_day.data`` format.

A *group* is a staff id, 0 standing for everyone together. Each group has a count, the
sum of its durations and a histogram of their sketch bucket keys (:func:`storage.rollups.
key_of`). A day's row holds every group, so `/crm metrics 30d` reads ~6 rows a day instead
of one per staff member, and merges everything in one numpy histogram.

Layout, little-endian: G and E (int64: groups, histogram entries); group ids (int64 x G,
ascending); counts (int64 x G); sums (float64 x G); entries per group (int32 x G); then
the keys and their counts (int32 x E each), each group's keys ascending.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from storage.rollup_sketch import ZERO_KEY, key_of, value_of

Array = np.ndarray[Any, Any]
DENSE_CELLS = 4_000_000  # group x key cells above which the histogram sorts instead
_SHIFT = 2**31  # keys are int32: key + _SHIFT is non-negative


@dataclass(frozen=True, slots=True)
class Packed:
    """Groups (``ids``, ``counts``, ``totals``) and histogram entries (``owners``: the
    group id of each, ``keys``, ``weights``); an id may repeat until :func:`combine`."""

    ids: Array
    counts: Array
    totals: Array
    owners: Array
    keys: Array
    weights: Array


def _ints(values: Sequence[int] | Array = ()) -> Array:
    return np.asarray(values, dtype=np.int64)


def observations(
    owners: Sequence[int], values: Sequence[float] | None, keys: Sequence[int] | None = None
) -> Packed:
    """One count per owner (with ``values[i]`` added to its sum and histogram, under its
    bucket key ``keys[i]`` when already known), or just the counts when ``values`` is None
    (the ``handled`` measure)."""
    ids = _ints(owners)
    ones = np.ones(len(ids), dtype=np.int64)
    if values is None:
        return counted(ids, ones)
    found = _ints(keys if keys is not None else [key_of(v) for v in values])
    return Packed(ids, ones, np.asarray(values, dtype=np.float64), ids, found, ones)


def counted(owners: Sequence[int] | Array, counts: Sequence[int] | Array) -> Packed:
    """Counts only: ``counts[i]`` for ``owners[i]``."""
    ids = _ints(owners)
    return Packed(ids, _ints(counts), np.zeros(len(ids)), _ints(), _ints(), _ints())


def combine(parts: Sequence[Packed]) -> Packed:
    """One group per id, one entry per (id, key), ids and keys ascending."""
    ids = np.concatenate([p.ids for p in parts]) if parts else _ints()
    uid, inverse = np.unique(ids, return_inverse=True)
    counts = np.bincount(
        inverse,
        weights=np.concatenate([p.counts for p in parts]) if parts else None,
        minlength=len(uid),
    )
    totals = np.bincount(
        inverse,
        weights=np.concatenate([p.totals for p in parts]) if parts else None,
        minlength=len(uid),
    )
    owners = np.concatenate([p.owners for p in parts]) if parts else _ints()
    keys = np.concatenate([p.keys for p in parts]) if parts else _ints()
    weights = np.concatenate([p.weights for p in parts]) if parts else _ints()
    cells, at = np.unique((owners << 32) + (keys + _SHIFT), return_inverse=True)
    summed = np.bincount(at, weights=weights, minlength=len(cells))
    return Packed(
        uid.astype(np.int64),
        np.rint(counts).astype(np.int64),
        totals.astype(np.float64),
        cells >> 32,
        (cells & 0xFFFFFFFF) - _SHIFT,
        np.rint(summed).astype(np.int64),
    )


def encode(packed: Packed) -> bytes:
    """The stored form of ``packed`` (combined first, so the layout's order holds)."""
    p = combine([packed])
    lengths = np.searchsorted(p.owners, p.ids, "right") - np.searchsorted(p.owners, p.ids)
    return b"".join(
        (
            np.array([len(p.ids), len(p.keys)], dtype="<i8").tobytes(),
            p.ids.astype("<i8").tobytes(),
            p.counts.astype("<i8").tobytes(),
            p.totals.astype("<f8").tobytes(),
            lengths.astype("<i4").tobytes(),
            p.keys.astype("<i4").tobytes(),
            p.weights.astype("<i4").tobytes(),
        )
    )


def decode(blob: bytes) -> Packed:
    """The :class:`Packed` stored as ``blob`` (empty groups for an empty blob)."""
    if not blob:
        return observations((), None)
    g, e = (int(x) for x in np.frombuffer(blob, dtype="<i8", count=2))
    at = 16

    def take(dtype: str, n: int) -> Array:
        nonlocal at
        out = np.frombuffer(blob, dtype=dtype, count=n, offset=at)
        at += out.itemsize * n
        return out

    ids, counts, totals = take("<i8", g), take("<i8", g), take("<f8", g)
    lengths = take("<i4", g)
    keys, weights = take("<i4", e), take("<i4", e)
    return Packed(ids, counts, totals, np.repeat(ids, lengths), keys, weights)


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """What one group adds up to: count, sum and the requested nearest-rank quantiles."""

    count: int
    total: float
    quantiles: list[float | None]


def figures(parts: Sequence[Packed], ps: Sequence[float]) -> dict[int, GroupFigures]:
    """Per group id, over all ``parts``: count, sum and quantiles of the merged histogram
    (nearest rank, the bucket value at rank ceil(p*n), within the sketch's accuracy)."""
    if not parts:
        return {}
    uid, inverse = np.unique(np.concatenate([p.ids for p in parts]), return_inverse=True)
    counts = np.bincount(
        inverse, weights=np.concatenate([p.counts for p in parts]), minlength=len(uid)
    )
    totals = np.bincount(
        inverse, weights=np.concatenate([p.totals for p in parts]), minlength=len(uid)
    )
    owners = np.concatenate([p.owners for p in parts])
    if len(uid) and uid[0] >= 0 and uid[-1] < 1_000_000:  # staff ids: a lookup table
        index = np.zeros(int(uid[-1]) + 1, dtype=np.int64)
        index[uid] = np.arange(len(uid))
        owners = index[owners]
    else:
        owners = np.searchsorted(uid, owners)
    keys = np.concatenate([p.keys for p in parts]).astype(np.int64)
    weights = np.concatenate([p.weights for p in parts]).astype(np.int64)
    quantiles = quantiles_by_group(owners, keys, weights, len(uid), ps)
    return {
        int(gid): GroupFigures(round(float(counts[i])), float(totals[i]), quantiles[i])
        for i, gid in enumerate(uid)
    }


def quantiles_by_group(
    groups: Array, keys: Array, weights: Array, n_groups: int, ps: Sequence[float]
) -> list[list[float | None]]:
    """Nearest-rank quantiles of each group's histogram (entry ``i`` adds ``weights[i]``
    counts of ``keys[i]`` to group ``groups[i]``), every group in one pass: a dense
    (group x key) histogram, or a sort when that would be too large."""
    out: list[list[float | None]] = [[None for _ in ps] for _ in range(n_groups)]
    if not len(keys):
        return out
    real = keys != ZERO_KEY
    low = int(keys[real].min()) - 1 if real.any() else 0  # slot 0: the zero bucket
    width = (int(keys[real].max()) if real.any() else 0) - low + 1
    slots = np.where(real, keys - low, 0)
    if n_groups * width <= DENSE_CELLS:
        cells = np.bincount(groups * width + slots, weights=weights, minlength=n_groups * width)
        cumulative = np.cumsum(cells.reshape(n_groups, width), axis=1)
        totals = [round(float(t)) for t in cumulative[:, -1]]
        for i, p in enumerate(ps):
            ranks = np.array([_rank(p, n) if n else 0 for n in totals], dtype=np.float64)
            found = (cumulative >= ranks[:, None]).argmax(axis=1)  # first slot reaching it
            for g, n in enumerate(totals):
                if n:
                    at = int(found[g])
                    out[g][i] = value_of(ZERO_KEY if at == 0 else at + low)
        return out
    order = np.argsort(groups * width + slots, kind="stable")
    groups, slots, running = groups[order], slots[order], np.cumsum(weights[order])
    starts = np.searchsorted(groups, np.arange(n_groups + 1))
    for g in range(n_groups):
        begin, end = int(starts[g]), int(starts[g + 1])
        if begin == end:
            continue
        before = int(running[begin - 1]) if begin else 0
        n = int(running[end - 1]) - before
        for i, p in enumerate(ps):
            at = int(slots[int(np.searchsorted(running, before + _rank(p, n)))])
            out[g][i] = value_of(ZERO_KEY if at == 0 else at + low)
    return out


def _rank(p: float, n: int) -> int:
    return max(1, math.ceil(p * n - 1e-9))
