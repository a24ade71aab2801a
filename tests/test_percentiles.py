"""The one percentile definition (nearest rank) used by reports, charts and benchmarks."""

from __future__ import annotations

from handlers.percentiles import nearest_rank, nearest_ranks


def test_nearest_rank_is_the_value_at_rank_ceil_p_n() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert nearest_ranks(values, (0.5, 0.9, 0.99, 1.0)) == [50.0, 90.0, 99.0, 100.0]
    assert nearest_rank([3.0, 1.0, 2.0], 0.5) == 2.0
    assert nearest_rank([1.0, 2.0], 0.5) == 1.0  # a rank, never an average
    assert nearest_rank([7.0], 0.01) == 7.0


def test_no_values_have_no_percentile() -> None:
    assert nearest_rank([], 0.5) is None
    assert nearest_ranks([], (0.5, 0.9)) == [None, None]
