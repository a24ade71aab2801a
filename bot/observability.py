"""Prometheus metrics of one bot process, on its own registry (``GET /metrics``).

Counters and the delivery histogram are updated where things happen (ingest, the
dispatcher); the outbox gauges are read from the database at scrape time, so every
replica reports the same shared queue and nothing drifts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Outbox
from storage.outbox_types import OutboxStatus

log = logging.getLogger(__name__)

DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class OutboxCollector(Collector):
    """Outbox depth, the age of its oldest pending row, and dead letters, read per scrape."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("crmbot_outbox_depth", "Outbox rows waiting to be posted.")
        age = GaugeMetricFamily(
            "crmbot_outbox_oldest_age_seconds",
            "Age of the oldest outbox row waiting to be posted (0 when none).",
        )
        dead = GaugeMetricFamily(
            "crmbot_dead_letters", "Outbox rows given up on (status 'dead'), kept for review."
        )
        try:
            pending, oldest, dead_count = self._read()
        except Exception:
            log.warning("metrics: the outbox could not be read", exc_info=True)
            return
        depth.add_metric([], pending)
        seconds = (self._now() - oldest).total_seconds() if oldest is not None else 0.0
        age.add_metric([], max(0.0, seconds))
        dead.add_metric([], dead_count)
        yield depth
        yield age
        yield dead

    def _read(self) -> tuple[int, datetime | None, int]:
        t = Outbox.__table__  # type: ignore[attr-defined]
        with self._db.engine.connect() as conn:
            pending, oldest = conn.execute(
                select(func.count(), func.min(t.c.created_at)).where(
                    t.c.status == OutboxStatus.PENDING
                )
            ).one()
            dead = conn.execute(
                select(func.count()).select_from(t).where(t.c.status == OutboxStatus.DEAD)
            ).scalar_one()
        return int(pending), oldest, int(dead)


class BotMetrics:
    """The process's metrics and the registry ``/metrics`` serves."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter(
            "crmbot_ingested",
            "Events (mentions, CRM events) stored by ingest; duplicates not counted.",
            registry=self.registry,
        )
        self.delivery = Histogram(
            "crmbot_delivery_seconds",
            "Duration of a successful post or edit through a chat platform's API.",
            ["platform"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.delivery_errors = Counter(
            "crmbot_delivery_errors",
            "Failed posts and edits, by kind (rate_limited, unreachable, refused, ...).",
            ["kind"],
            registry=self.registry,
        )
        self.replies = Counter(
            "crmbot_replies",
            "Replies to customers by outcome (published, retried, failed) and source kind.",
            ["source_kind", "outcome"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "crmbot_leader",
            "1 when this process runs the timed jobs (a single process always does).",
            registry=self.registry,
        )
        self.leader.set(1)
        self.registry.register(OutboxCollector(db, now))

    def stored(self, events: int) -> None:
        """Count events ingest stored."""
        if events:
            self.ingested.inc(events)

    def delivered(self, platform: str, seconds: float) -> None:
        """A post or edit succeeded after ``seconds``."""
        self.delivery.labels(platform=platform).observe(seconds)

    def failed(self, reason: str, retry_after: float | None) -> None:
        """A post or edit failed; ``reason`` is the stored (safe) reason."""
        self.delivery_errors.labels(kind=error_kind(reason, retry_after)).inc()

    def reply(self, source_kind: str, outcome: str) -> None:
        """A publish attempt of a reply ended: ``published``, ``retried`` or ``failed``."""
        self.replies.labels(source_kind=source_kind, outcome=outcome).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


def error_kind(reason: str, retry_after: float | None) -> str:
    """A small, fixed set of labels for delivery failures (never the free text itself)."""
    lowered = reason.lower()
    if retry_after is not None or "rate limit" in lowered or "429" in lowered:
        return "rate_limited"
    if "no running adapter" in lowered:
        return "no_adapter"
    if "unreachable" in lowered or "timeout" in lowered or "timed out" in lowered:
        return "unreachable"
    if "http 5" in lowered:
        return "server_error"
    if reason.isidentifier():  # an unexpected exception, stored by its class name
        return "exception"
    return "refused"
