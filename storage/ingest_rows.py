"""The rows the ingest path hands to storage (storage/ingest_sql.py), typed.

New rows are TypedDicts keyed by column name (they go to the database as they are);
changes to existing rows are small dataclasses whose fields name what changes, so no
caller spells a bind-parameter name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict


class NewAuthor(TypedDict):
    """An ``author`` row for someone first seen in this batch."""

    platform: str
    handle: str
    display_name: str | None
    followers: int
    influence: float
    contact_id: int | None
    first_seen: datetime
    updated_at: datetime


class NewConversation(TypedDict):
    """A ``conversation`` row opened by this batch."""

    key: str
    kind: str
    source: str
    platform: str
    author_id: int | None
    contact_id: int | None
    status: str
    severity: str
    rule: str | None
    team: str | None
    channels: list[str]
    labels: dict[str, str]
    cycle: int
    mention_count: int
    sentiment: float
    title: str
    created_at: datetime
    last_activity_at: datetime


class NewCycle(TypedDict):
    """A ``cycle`` row: a conversation's first (opened) or a later one (reopened, with
    when the previous cycle was received and when this one was alerted)."""

    conversation_id: int
    n: int
    source: str
    severity: str
    team: str | None
    received_at: datetime
    previous_received_at: NotRequired[datetime | None]
    alerted_at: NotRequired[datetime]


class NewMention(TypedDict):
    """A ``mention`` row."""

    source: str
    external_id: str
    platform: str
    author_id: int | None
    conversation_id: int | None
    thread_key: str
    text: str
    url: str | None
    lang: str | None
    sentiment: float
    posted_at: datetime
    received_at: datetime
    reply_ref: dict[str, str] | None


class NewCrmEvent(TypedDict):
    """A ``crm_event`` row."""

    source: str
    external_id: str
    kind: str
    object_id: str | None
    contact_id: int | None
    conversation_id: int | None
    summary: str
    amount: float | None
    stage: str | None
    previous_stage: str | None
    properties: dict[str, Any]
    occurred_at: datetime
    received_at: datetime


class NewHandlingEvent(TypedDict):
    """A ``handling_event`` row (ingest writes ``reopened`` ones)."""

    conversation_id: int
    cycle: int
    kind: str
    actor_id: int | None
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KnownAuthor:
    """An author already stored: id, followers as stored, linked contact."""

    id: int
    followers: int
    contact_id: int | None


@dataclass(frozen=True, slots=True)
class AuthorRefresh:
    """New follower count (and influence) of a known author."""

    id: int
    followers: int
    influence: float
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationBump:
    """A known conversation's new mention count, activity time and sentiment."""

    id: int
    mention_count: int
    last_activity_at: datetime
    sentiment: float
    sentiment_by: str


@dataclass(frozen=True, slots=True)
class ConversationReopen:
    """A resolved conversation opened again in cycle ``cycle``."""

    id: int
    cycle: int


@dataclass(frozen=True, slots=True)
class FoundConversation:
    """The conversation a thread key continues (open, or resolved recently)."""

    id: int
    key: str
    status: str
    cycle: int
    channels: list[str]
    mention_count: int
    source: str
    severity: str
    team: str | None
    resolved_at: datetime | None
    author_id: int | None
    sentiment: float
    sentiment_by: str


@dataclass(frozen=True, slots=True)
class LookupKeys:
    """What a batch needs to know before it writes (storage/ingest_lookup.py)."""

    mentions: list[tuple[str, str]]  # (source, external_id)
    crm_events: list[tuple[str, str]]
    authors: list[tuple[str, str]]  # (platform, normalised handle)
    handles: list[str] | None  # contact handles to resolve now (None: later)
    thread_keys: list[str]
    resolved_since: datetime


@dataclass(slots=True)
class Prefetched:
    """What the database already holds for a batch."""

    mentions: set[tuple[str, str]]
    crm_events: set[tuple[str, str]]
    authors: dict[tuple[str, str], KnownAuthor]
    handles: dict[str, int] | None  # contact id by handle (None: not looked up)
    conversations: dict[str, FoundConversation]
