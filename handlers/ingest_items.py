"""What the ingest stages pass along: a batch's events as items, and conversations as the
batch sees them. The stages are, in order: dedupe (handlers/ingest_dedupe.py), enrichment
(handlers/ingest_authors.py; sentiment from handlers/sentiment), threading and routing
(handlers/ingest_threading.py), rows and rollups (handlers/ingest_write.py), cards and
the outbox (handlers/ingest_cards.py); handlers/ingest.py runs them in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from handlers.events import InboundEvent, Mention
from handlers.routing import RouteDecision
from handlers.sentiment import OFFLINE


@dataclass(slots=True)
class IngestResult:
    """What a batch did, for logs, HTTP answers and tests."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    threaded: int = 0
    unrouted: int = 0
    outbox_rows: int = 0
    enrichments: int = 0  # CRM objects to read in the background (handlers/crm_enrich.py)


@dataclass(slots=True)
class Conv:
    """A conversation as the batch sees it (existing or about to be created)."""

    id: int | None
    key: str
    cycle: int
    channels: list[str]
    mention_count: int
    source: str
    severity: str
    team: str | None
    status: str
    touched: bool = False
    new: bool = False
    last_at: datetime | None = None
    sentiment: float = 0.0
    sentiment_by: str = OFFLINE
    author_id: int | None = None
    shown: str | None = None  # the sentiment label its posted cards show (existing only)


@dataclass(slots=True)
class Item:
    """One new event of the batch and what the stages found out about it."""

    event: InboundEvent
    sentiment: float = 0.0
    author_id: int | None = None
    contact_id: int | None = None
    conv: Conv | None = None
    opens: RouteDecision | None = None
    reopens: bool = False
    owner: int = 0  # which group (request) the event came in


def touched_convs(items: list[Item]) -> list[Conv]:
    """The distinct conversations the items went to, in first-seen order."""
    return list({id(i.conv): i.conv for i in items if i.conv is not None}.values())


TITLE_LENGTH = 80


def title_of(event: InboundEvent) -> str:
    """A conversation's title: the event's text on one line, at most TITLE_LENGTH long."""
    text = event.text if isinstance(event, Mention) else event.summary
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"
