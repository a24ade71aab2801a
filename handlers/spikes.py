"""Spike rules: a burst of (optionally filtered) mentions in a short window against the
trailing baseline. Ingest counts matching mentions per minute; a scheduled check fires
an alert (a conversation of kind "spike", routed by its labels) and honours cooldowns."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from handlers.cards import AlertCard
from handlers.config import SpikeConfig
from handlers.context import BotContext
from handlers.delivery import alert_timing
from handlers.routing import describe_route, route
from handlers.rules import Ruleset, Subject
from storage import rollups
from storage import spikes as spike_store
from storage.models import Conversation, Cycle, SpikeState


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _counts(spike: SpikeConfig, subject: Subject) -> bool:
    if subject.kind != "mention":
        return False
    if spike.platforms and subject.platform not in spike.platforms:
        return False
    return spike.sentiment_max is None or subject.sentiment <= spike.sentiment_max


def count_mentions(ruleset: Ruleset, subjects: Iterable[Subject]) -> dict[str, int]:
    """How many of ``subjects`` each spike rule counts."""
    spikes = ruleset.config.spikes
    counts: dict[str, int] = {}
    if not spikes:
        return counts
    for subject in subjects:
        present: set[int] | None = None
        for spike, query in zip(spikes, ruleset.spike_queries, strict=True):
            if not _counts(spike, subject):
                continue
            if query is not None:
                if present is None:
                    present = ruleset.matcher.present(subject.text)
                if not query(present):
                    continue
            counts[spike.name] = counts.get(spike.name, 0) + 1
    return counts


def record_counts(
    conn: Connection, ruleset: Ruleset, subjects: list[Subject], now: datetime
) -> None:
    """Add this batch's matching mentions to the per-minute counters (in the ingest transaction)."""
    spike_store.add_counts(conn, minute_of(now), count_mentions(ruleset, subjects))


@dataclass(frozen=True, slots=True)
class SpikeReading:
    """A spike rule's window count against its baseline."""

    count: int
    mean: float
    std: float

    def fires(self, spike: SpikeConfig) -> bool:
        if self.count < spike.min_count:
            return False
        by_ratio = spike.ratio is not None and self.count >= spike.ratio * max(self.mean, 1e-9)
        by_sigma = spike.sigma is not None and self.count >= self.mean + spike.sigma * max(
            self.std, 1.0
        )
        return by_ratio or by_sigma


def reading(conn: Connection, spike: SpikeConfig, now: datetime) -> SpikeReading:
    """The window's count and the baseline's mean and standard deviation per window."""
    end = minute_of(now) + timedelta(minutes=1)
    window_start = end - spike.window
    base_start = end - spike.baseline
    counts = spike_store.buckets(conn, spike.name, base_start, end)
    in_window = sum(c for m, c in counts.items() if m >= window_start)
    slots = max(1, int((spike.baseline - spike.window) / spike.window))
    per_slot = [0] * slots
    for minute, count in counts.items():
        if minute < window_start:
            index = int((window_start - minute - timedelta(seconds=1)) / spike.window)
            if index < slots:
                per_slot[index] += count
    mean = sum(per_slot) / slots
    std = math.sqrt(sum((x - mean) ** 2 for x in per_slot) / slots)
    return SpikeReading(in_window, mean, std)


def check_spikes(ctx: BotContext) -> list[int]:
    """Fire every spike rule whose window is over its baseline and out of cooldown;
    returns the new spike conversations."""
    now = ctx.clock.now()
    config = ctx.config
    fired: list[int] = []
    if config.spikes:  # counters older than the longest baseline are never read again
        oldest = now - max(spike.baseline for spike in config.spikes) - timedelta(minutes=1)
        with ctx.db.transaction() as conn:
            spike_store.prune(conn, minute_of(oldest))
    for spike in config.spikes:
        with ctx.db.engine.connect() as conn:
            current = reading(conn, spike, now)
        if not current.fires(spike):
            continue
        with ctx.db.session() as session:
            state = session.get(SpikeState, spike.name)
            if state is not None and now - state.last_fired_at < spike.cooldown:
                continue
            labels = {
                **spike.labels,
                "kind": "spike",
                "rule": spike.name,
                "severity": spike.severity,
            }
            path = route(config, labels)
            if not path.channels:
                continue
            title = (
                f"Spike: {current.count} mentions in {_short(spike.window)} "
                f"(usually {current.mean:.1f})"
            )
            conversation = Conversation(
                key=f"spike:{spike.name}:{now.isoformat()}",
                kind="spike",
                source="crmbot",
                platform="spike",
                severity=spike.severity,
                rule=spike.name,
                team=labels.get("team"),
                channels=list(path.channels),
                labels=labels,
                title=title,
                created_at=now,
                last_activity_at=now,
                mention_count=current.count,
            )
            session.add(conversation)
            session.flush()
            assert conversation.id is not None
            session.add(
                Cycle(
                    conversation_id=conversation.id,
                    source="crmbot",
                    severity=spike.severity,
                    team=labels.get("team"),
                    received_at=now,
                )
            )
            rollups.count_cycles(session, rollups.day_of(now), cycles=1, conversations=1)
            if state is None:
                state = SpikeState(spike=spike.name)
            state.last_fired_at = now
            state.conversation_id = conversation.id
            session.add(state)
            for hit in path.hits:
                card = AlertCard(
                    conversation_id=conversation.id,
                    source="crmbot",
                    platform="spike",
                    title=title,
                    text=f"{title}. Rule: {spike.name}.",
                    severity=spike.severity,
                    rule=spike.name,
                    channel=hit.channel,
                    posted_at=now.isoformat(),
                    why=f"spike rule `{spike.name}` → {describe_route(config, hit.index)}"
                    f" → #{hit.channel}",
                )
                timing = alert_timing(config, hit.index, labels, now, lambda key: (None, None))
                ctx.queue(session, card, [hit.channel], timing)
            fired.append(conversation.id)
    if fired:
        ctx.on_queued()
    return fired


def _short(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes}m" if minutes < 120 else f"{minutes // 60}h"
