"""Scoring many texts fast: this process plus worker processes for large batches.

The offline labeller is pure Python and CPU-bound, so a large batch is split: one part
is scored here while the rest is scored by worker processes on the other cores. Small
batches (the usual webhook delivery) never leave the process. The admin's extra terms
ride along with each batch, so workers always score with the config in force.

How much goes to the workers balances itself: the caller does other work while they
score, and when it asks for the scores either the workers are done (they could have taken
more: their share grows) or it must wait for them (their share shrinks). No clock is
read; the share settles where neither side waits, whatever the machine and its load.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor

from handlers.config_sentiment import LexiconExtension, SentimentConfig
from handlers.sentiment.lexicon import build_lexicon
from handlers.sentiment.offline import OfflineAnalyzer

log = logging.getLogger(__name__)

PARALLEL_MIN_BATCH = 128
# how far the workers' share moves after each batch: down faster than up, since a caller
# waiting for the workers idles a core, while scoring a few more texts here costs little
SHARE_UP, SHARE_DOWN = 0.02, 0.1
MIN_SHARE, MAX_SHARE = 0.2, 1.0

_worker_analyzers: dict[LexiconExtension, OfflineAnalyzer] = {}


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent, and exit when the parent is gone (even
    after a kill -9, which gives the pool no chance to stop its workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _score_in_worker(
    extra: LexiconExtension, texts: list[str], langs: list[str | None]
) -> list[float]:
    analyzer = _worker_analyzers.get(extra)
    if analyzer is None:
        _worker_analyzers.clear()
        analyzer = _worker_analyzers[extra] = OfflineAnalyzer(build_lexicon(extra))
    return [analyzer.score(t, lang) for t, lang in zip(texts, langs, strict=True)]


class SentimentScorer:
    """Offline compound score in [-1, 1], for one text or a batch."""

    def __init__(self, workers: int | None = None, config: SentimentConfig | None = None) -> None:
        self._config = config or SentimentConfig()
        self._extra = self._config.extension()
        self._analyzer = OfflineAnalyzer(build_lexicon(self._extra))
        cores = os.cpu_count() or 1
        self._workers = max(0, cores - 1) if workers is None else workers
        self._pool: Executor | None = None
        self.worker_share = 0.6  # of a large batch, adjusted batch by batch

    def configure(self, config: SentimentConfig) -> None:
        """Score with ``config``'s extra terms from now on (cheap when nothing changed)."""
        if config is self._config:
            return
        self._config = config
        extra = config.extension()
        if extra != self._extra:
            self._extra = extra
            self._analyzer = OfflineAnalyzer(build_lexicon(extra))
            log.info("sentiment lexicon reloaded with %d admin terms", len(extra.terms))

    def score(self, text: str, lang: str | None = None) -> float:
        return self._analyzer.score(text, lang)

    def begin(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> PendingScores:
        """Start scoring ``texts``: the workers' part (:attr:`worker_share` of a large
        batch) starts now, in the background, so the caller can do other work (e.g.
        database lookups) before :meth:`PendingScores.result` scores the rest here."""
        all_langs: list[str | None] = list(langs) if langs is not None else [None] * len(texts)
        if self._workers == 0 or len(texts) < PARALLEL_MIN_BATCH:
            return PendingScores(self, [], list(texts), all_langs)
        share = int(len(texts) * self.worker_share / self._workers)
        pool = self._ensure_pool()
        futures = [
            pool.submit(
                _score_in_worker,
                self._extra,
                list(texts[i * share : (i + 1) * share]),
                all_langs[i * share : (i + 1) * share],
            )
            for i in range(self._workers)
        ]
        rest = self._workers * share
        return PendingScores(self, futures, list(texts[rest:]), all_langs[rest:])

    def balance(self, workers_were_done: bool) -> None:
        """After a batch: the workers take more of the next if they were done when their
        scores were needed, less if the caller had to wait for them."""
        step = SHARE_UP if workers_were_done else -SHARE_DOWN
        self.worker_share = min(MAX_SHARE, max(MIN_SHARE, self.worker_share + step))

    def warm_up(self) -> None:
        """Start the worker processes now rather than on the first large batch."""
        if self._workers:
            pool = self._ensure_pool()
            started = [
                pool.submit(_score_in_worker, self._extra, ["ok"], [None])
                for _ in range(self._workers)
            ]
            for future in started:
                future.result()

    def _ensure_pool(self) -> Executor:
        if self._pool is None:
            # spawn: the parent may already run threads (asyncio, uvicorn), which fork dislikes.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=context,
                initializer=_worker_init,
                initargs=(os.getpid(),),
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
        self,
        scorer: SentimentScorer,
        futures: list[Future[list[float]]],
        local: list[str],
        langs: list[str | None],
    ) -> None:
        self._scorer = scorer
        self._futures = futures
        self._local = local
        self._langs = langs

    def result(self) -> list[float]:
        """All scores, in the order the texts were given."""
        local = [
            self._scorer.score(t, lang) for t, lang in zip(self._local, self._langs, strict=True)
        ]
        if self._futures:
            self._scorer.balance(workers_were_done=all(f.done() for f in self._futures))
        scores: list[float] = []
        for future in self._futures:
            scores.extend(future.result())
        return scores + local
