"""Sentiment of social text with VADER (made for short social posts).

VADER is pure Python and CPU-bound (about 0.1 ms a post), so large batches are split:
one part is scored here while the rest is scored by worker processes on the other
cores. Small batches (the usual webhook delivery) never leave the process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

log = logging.getLogger(__name__)

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
PARALLEL_MIN_BATCH = 128

_worker_analyzer: SentimentIntensityAnalyzer | None = None


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group; only the parent stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _score_in_worker(texts: list[str]) -> list[float]:
    global _worker_analyzer
    if _worker_analyzer is None:
        _worker_analyzer = SentimentIntensityAnalyzer()
    return [float(_worker_analyzer.polarity_scores(t)["compound"]) for t in texts]


class SentimentScorer:
    """VADER compound score in [-1, 1], for one text or a batch."""

    def __init__(self, workers: int | None = None) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        cores = os.cpu_count() or 1
        self._workers = max(0, cores - 1) if workers is None else workers
        self._pool: Executor | None = None

    def score(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])

    def score_many(self, texts: Sequence[str]) -> list[float]:
        """Scores in order; batches of PARALLEL_MIN_BATCH or more use the worker processes."""
        return self.begin(texts).result()

    def begin(self, texts: Sequence[str], worker_share: float = 0.5) -> PendingScores:
        """Start scoring ``texts``: the workers' part starts now, in the background, so the
        caller can do other work (e.g. database lookups) before :meth:`PendingScores.result`
        scores the rest here. ``worker_share`` is the fraction the workers take."""
        if self._workers == 0 or len(texts) < PARALLEL_MIN_BATCH:
            return PendingScores(self, [], list(texts))
        share = int(len(texts) * worker_share / self._workers)
        parts = [list(texts[i * share : (i + 1) * share]) for i in range(self._workers)]
        pool = self._ensure_pool()
        futures = [pool.submit(_score_in_worker, part) for part in parts]
        return PendingScores(self, futures, list(texts[self._workers * share :]))

    def warm_up(self) -> None:
        """Start the worker processes now rather than on the first large batch."""
        if self._workers:
            pool = self._ensure_pool()
            for future in [pool.submit(_score_in_worker, ["ok"]) for _ in range(self._workers)]:
                future.result()

    def _ensure_pool(self) -> Executor:
        if self._pool is None:
            # spawn: the parent may already run threads (asyncio, uvicorn), which fork dislikes.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=context, initializer=_ignore_sigint
            )
            log.info("scoring sentiment of large batches on %d extra processes", self._workers)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class PendingScores:
    """Scores being computed: the workers' futures, and the texts left for this process."""

    def __init__(
        self, scorer: SentimentScorer, futures: list[Future[list[float]]], local: list[str]
    ) -> None:
        self._scorer = scorer
        self._futures = futures
        self._local = local

    def result(self) -> list[float]:
        """All scores, in the order the texts were given."""
        local = [self._scorer.score(t) for t in self._local]
        scores: list[float] = []
        for future in self._futures:
            scores.extend(future.result())
        return scores + local


def label(compound: float) -> str:
    """VADER's own thresholds: negative, neutral or positive."""
    if compound <= NEGATIVE_BELOW:
        return "negative"
    if compound >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"
