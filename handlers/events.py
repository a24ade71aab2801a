"""Neutral inbound events. Sources and chat adapters translate to these at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Mention:
    """A social post about the brand, from any platform."""

    source: str
    external_id: str
    platform: str
    author_handle: str
    text: str
    posted_at: datetime
    author_name: str | None = None
    author_followers: int = 0
    url: str | None = None
    thread_id: str | None = None
    lang: str | None = None
    author_email: str | None = None
    # what the platform needs to answer this post (handlers/publish_port.ReplyTarget):
    # Mastodon {"id", "visibility"}, Bluesky {"uri", "cid", "root_uri", "root_cid"},
    # Reddit {"fullname"}; stored with the mention
    reply_ref: dict[str, str] = field(default_factory=dict, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def thread_key(self) -> str:
        """Mentions with the same key belong to one conversation while it is open."""
        if self.thread_id:
            return f"{self.platform}:thread:{self.thread_id}"
        return f"{self.platform}:author:{self.author_handle.lower()}"


@dataclass(frozen=True, slots=True)
class CrmEvent:
    """A CRM event: a new lead, a deal stage change, a ticket, a contact update."""

    source: str
    external_id: str
    kind: str  # lead_created | deal_stage_changed | ticket_created | contact_updated | ...
    object_id: str
    occurred_at: datetime
    summary: str = ""
    contact_id: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_handles: tuple[str, ...] = ()
    company: str | None = None
    deal_name: str | None = None
    amount: float | None = None
    stage: str | None = None
    previous_stage: str | None = None
    properties: dict[str, Any] = field(default_factory=dict, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def thread_key(self) -> str:
        return f"crm:{self.source}:{self.object_id}"


InboundEvent = Mention | CrmEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """Who typed a command or pressed a button, as the chat platform knows them."""

    platform: str
    user_id: str
    name: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = ()  # platform groups/roles, e.g. "slack-group:S123"


@dataclass(frozen=True, slots=True)
class Command:
    """A ``/crm ...`` command: ``text`` is everything after ``/crm``."""

    actor: Actor
    text: str
    channel: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # the platform's id of this delivery (Slack trigger_id, Discord interaction id): a
    # redelivery with the same id is done once (handlers/once.py)
    delivery_id: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """A button press on an alert: claim, reply, resolve, handoff, reopen."""

    actor: Actor
    name: str
    conversation_id: int
    value: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    delivery_id: str | None = None  # as on Command: a redelivered press is done once


@dataclass(frozen=True, slots=True)
class ThreadReply:
    """A staff member's message in a conversation's alert thread: their reply."""

    actor: Actor
    conversation_id: int
    text: str
    delivery_id: str | None = None  # the platform's event id (Slack ``event_id``)
