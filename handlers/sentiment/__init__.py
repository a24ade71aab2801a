"""Sentiment of customer text: an offline labeller (VADER's method with support, star,
sarcasm, question and de/fr/es knowledge, as data files) and, when configured, a model
that re-labels in the background. Labels come from :func:`label` everywhere, so the
queue, the alert card and ``/crm show`` agree."""

from __future__ import annotations

from handlers.sentiment.labels import LABELS, NEGATIVE_BELOW, OFFLINE, POSITIVE_ABOVE, label
from handlers.sentiment.scorer import PARALLEL_MIN_BATCH, PendingScores, SentimentScorer

__all__ = [
    "LABELS",
    "NEGATIVE_BELOW",
    "OFFLINE",
    "PARALLEL_MIN_BATCH",
    "POSITIVE_ABOVE",
    "PendingScores",
    "SentimentScorer",
    "label",
]
