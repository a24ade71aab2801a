"""From a score in [-1, 1] to the label staff see, and who decided it."""

from __future__ import annotations

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
LABELS = ("negative", "neutral", "positive")
OFFLINE = "offline"


def label(compound: float) -> str:
    """VADER's thresholds: negative, neutral or positive."""
    if compound <= NEGATIVE_BELOW:
        return "negative"
    if compound >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"
