"""The port sources (webhooks, pollers) hand events to, and keep their state through.

Sources depend on this small interface only, never on the bot object or storage: the
running bot implements it (bot/app.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from handlers.clock import Clock
from handlers.config import CrmbotConfig
from handlers.events import InboundEvent
from handlers.ingest import IngestResult
from storage.sources import SourceState

__all__ = ["SourceSink", "SourceState"]


class SourceSink(Protocol):
    """What a source needs from the running bot."""

    @property
    def clock(self) -> Clock:
        """The bot's clock (injected in tests)."""
        ...

    @property
    def config(self) -> CrmbotConfig:
        """The live config."""
        ...

    def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """Store a batch of events in one transaction and queue their alerts (blocking)."""
        ...

    def ingest_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store several requests' events in one transaction, one result per group; all
        or nothing (blocking)."""
        ...

    def load_source_state(self, kind: str, name: str) -> SourceState:
        """Where a poller left off and how healthy it is (blocking)."""
        ...

    def save_source_state(self, state: SourceState, now: datetime, notice: str | None) -> None:
        """Store a poller's state; ``notice`` (if any) goes to the admins' channel in the same
        transaction (blocking)."""
        ...

    def on_config_change(self, listener: Callable[[CrmbotConfig], None]) -> None:
        """Call ``listener`` after each successful config reload."""
        ...
