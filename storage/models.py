"""SQLModel tables. One row type per concept; see docs/architecture.md for the data flow.

Times are aware UTC datetimes (stored naive UTC by :class:`UTCDateTime`).
Durations used by metrics are stored in seconds on :class:`Cycle` when the
handling event that completes them is recorded, so metrics SQL is portable
between SQLite and PostgreSQL and needs no date arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.outbox_types import OutboxKind, OutboxStatus
from storage.types import StrEnumText, UTCDateTime


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=UTCDateTime(),
        nullable=nullable,
        index=index,
    )


class Staff(SQLModel, table=True):
    """A person who handles conversations; chat identities point here."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    display_name: str = ""
    email: str | None = None
    team: str | None = Field(default=None, index=True)
    role: str = "staff"  # staff | manager | admin
    created_at: datetime = _utc()


class StaffIdentity(SQLModel, table=True):
    """A chat user id (Slack U123, Discord snowflake, console login) of a staff member."""

    __tablename__ = "staff_identity"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    platform: str
    user_id: str


class Contact(SQLModel, table=True):
    """A CRM contact, fed by CRM events; authors link to contacts."""

    __table_args__ = (UniqueConstraint("crm", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    crm: str
    external_id: str
    name: str | None = None
    email: str | None = Field(default=None, index=True)
    company: str | None = None
    owner: str | None = None  # the CRM's owner id of the contact
    url: str | None = None  # the contact's record in the CRM
    lifecycle_stage: str | None = None
    deal_name: str | None = None
    deal_stage: str | None = None
    deal_amount: float | None = None
    updated_at: datetime = _utc()


class ContactHandle(SQLModel, table=True):
    """A social handle (lower-case, without '@') known to belong to a contact."""

    __tablename__ = "contact_handle"
    __table_args__ = (UniqueConstraint("handle"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    handle: str


class Author(SQLModel, table=True):
    """Who wrote a mention, per platform."""

    __table_args__ = (UniqueConstraint("platform", "handle"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    handle: str
    display_name: str | None = None
    followers: int = 0
    influence: float = 0.0
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    first_seen: datetime = _utc()
    updated_at: datetime = _utc()


class Conversation(SQLModel, table=True):
    """A thread of mentions or CRM events handled as one unit; its id is what staff type."""

    __table_args__ = (Index("ix_conversation_key_status", "key", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str
    kind: str = "mention"  # mention | crm
    source: str
    platform: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    status: str = Field(default="open", index=True)  # open | claimed | resolved
    severity: str = "normal"
    rule: str | None = None
    team: str | None = None
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    cycle: int = 1
    mention_count: int = 0
    sentiment: float = 0.0
    sentiment_by: str = "offline"  # the labeller that decided: offline, or a model's name
    title: str = ""
    created_at: datetime = _utc(index=True)
    last_activity_at: datetime = _utc()
    resolved_at: datetime | None = _utc(nullable=True)


class Cycle(SQLModel, table=True):
    """One open-to-resolved cycle of a conversation; a reopen starts the next one.

    The ``*_s`` columns are the metric durations in seconds (README "Metrics, defined"):
    claim_s = claimed - alerted, first_response_s = first reply - received,
    resolution_s = resolved - received.
    """

    __table_args__ = (UniqueConstraint("conversation_id", "n"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    n: int = 1
    source: str
    severity: str = "normal"
    team: str | None = None
    received_at: datetime = _utc(index=True)
    previous_received_at: datetime | None = _utc(nullable=True)  # the cycle before (reopens)
    alerted_at: datetime | None = _utc(nullable=True)
    claimed_at: datetime | None = _utc(nullable=True)
    claimed_by: int | None = Field(default=None, foreign_key="staff.id")
    first_response_at: datetime | None = _utc(nullable=True)
    first_response_by: int | None = Field(default=None, foreign_key="staff.id")
    resolved_at: datetime | None = _utc(nullable=True)
    resolved_by: int | None = Field(default=None, foreign_key="staff.id")
    claim_s: float | None = None
    first_response_s: float | None = None
    resolution_s: float | None = None


class Mention(SQLModel, table=True):
    """A social post that mentions the brand; unique per (source, external_id)."""

    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    platform: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    thread_key: str
    text: str
    url: str | None = None
    lang: str | None = None
    sentiment: float = 0.0
    sentiment_by: str = "offline"  # the labeller that decided: offline, or a model's name
    posted_at: datetime = _utc()
    received_at: datetime = _utc(index=True)
    # what the platform needs to answer the post (handlers.events.Mention.reply_ref);
    # NULL for mentions stored before replies existed
    reply_ref: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CrmEvent(SQLModel, table=True):
    """A CRM event (lead created, deal stage changed, ticket...); unique per (source, external_id)."""

    __tablename__ = "crm_event"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    kind: str = Field(index=True)
    object_id: str
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    summary: str = ""
    amount: float | None = None
    stage: str | None = None
    previous_stage: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = _utc()
    received_at: datetime = _utc(index=True)


class HandlingEvent(SQLModel, table=True):
    """Who did what to a conversation, when. ``actor_id`` is None for the bot itself."""

    __tablename__ = "handling_event"
    __table_args__ = (Index("ix_handling_conversation_at", "conversation_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    cycle: int = 1
    kind: str  # alerted | claimed | replied | handed_off | resolved | reopened | escalated
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = _utc(index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Outbox(SQLModel, table=True):
    """A message waiting to be posted to one chat destination; never deleted unsent."""

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_destination_sent", "platform", "destination", "sent_at"),
        Index("ix_outbox_conversation", "conversation_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    kind: OutboxKind = Field(sa_type=StrEnumText(OutboxKind))
    channel: str
    platform: str
    destination: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=StrEnumText(OutboxStatus))
    group_key: str | None = Field(default=None, index=True)  # alerts sent together as a digest
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _utc()
    next_attempt_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)
    message_ref: str | None = None
    # set before each post: a row still pending with it set may have been posted just
    # before a crash, so the dispatcher asks the platform first (bot/dispatcher.py)
    post_started_at: datetime | None = _utc(nullable=True)


class PostedAlert(SQLModel, table=True):
    """Where a conversation's alert landed, so follow-ups thread under it and updates edit it."""

    __tablename__ = "posted_alert"
    __table_args__ = (
        UniqueConstraint("conversation_id", "platform", "destination"),
        Index("ix_posted_alert_thread", "platform", "destination", "thread_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    channel: str
    platform: str
    destination: str
    message_ref: str
    thread_ref: str | None = None  # where its thread is (a Discord thread is its own channel)
    digest: bool = False  # posted inside a digest: updates go into its thread, not edits
    posted_at: datetime = _utc()


class SpikeBucket(SQLModel, table=True):
    """Mentions counted per spike rule per minute, kept up to date by ingest."""

    __tablename__ = "spike_bucket"

    spike: str = Field(primary_key=True)
    minute: datetime = Field(sa_type=UTCDateTime(), primary_key=True)
    count: int = 0


class SpikeState(SQLModel, table=True):
    """When a spike rule last fired (its cooldown survives reloads and restarts)."""

    __tablename__ = "spike_state"

    spike: str = Field(primary_key=True)
    last_fired_at: datetime = _utc()
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")


from storage.audit import AuditEntry as AuditEntry  # noqa: E402  (registers audit_log)
from storage.config_versions import ConfigVersion as ConfigVersion  # noqa: E402  (registers config_version)
from storage.crm import CrmEnrichment as CrmEnrichment  # noqa: E402  (registers crm_enrichment, crm_lead, crm_deal)
from storage.deliveries import InboundDelivery as InboundDelivery  # noqa: E402  (registers inbound_delivery)
from storage.job_runs import JobRun as JobRun  # noqa: E402  (registers job_run)
from storage.leases import DispatchLease as DispatchLease  # noqa: E402  (registers dispatch_lease)
from storage.replies import SocialReply as SocialReply  # noqa: E402  (registers social_reply)
from storage.rollup_table import MetricRollup as MetricRollup  # noqa: E402  (registers metric_rollup)
from storage.sources import SourceCursor as SourceCursor  # noqa: E402  (registers source_cursor)
from storage.suggestions import KnowledgeEntry as KnowledgeEntry  # noqa: E402  (registers kb_entry, suggestion)

# Reopened cycles are few: this partial index lets distinct-conversation counts find them
# without reading every cycle of the period.
Index(
    "ix_cycle_reopened",
    Cycle.received_at,  # type: ignore[arg-type]
    Cycle.previous_received_at,  # type: ignore[arg-type]
    sqlite_where=text("n > 1"),
    postgresql_where=text("n > 1"),
)
# Counting the cycles of a period (and the new conversations among them) reads only this.
Index("ix_cycle_received_n", Cycle.received_at, Cycle.n)  # type: ignore[arg-type]
