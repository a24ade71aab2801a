"""Author influence: a 0-100 score from audience size, comparable across platforms."""

from __future__ import annotations

import math

# log10 of a follower count that earns the full score (1M followers -> 100).
_FULL_SCORE_LOG = 6.0


def influence(followers: int) -> float:
    """0 for nobody, 50 at 1,000 followers, 100 at a million or more."""
    if followers <= 0:
        return 0.0
    return round(min(100.0, 100.0 * math.log10(1 + followers) / _FULL_SCORE_LOG), 1)


def tier(score: float) -> str:
    """A word for the score, for alert cards."""
    if score >= 80:
        return "high"
    if score >= 50:
        return "medium"
    return "low"


def followers_text(count: int) -> str:
    """A follower count as people read it: 12345 -> 12.3k, 2500000 -> 2.5M."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k"
    return str(count)
