"""Neutral outbound messages. Chat adapters render these; the outbox stores their payloads."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="Card")


@dataclass(frozen=True, slots=True)
class Card:
    """Base of every outbound message; ``kind`` names it in the outbox."""

    kind: ClassVar[str] = ""
    conversation_id: int | None

    def to_payload(self) -> dict[str, Any]:
        """The card's fields as a JSON-ready dict (all fields are plain values)."""
        return {name: getattr(self, name) for name in _field_names(type(self))}

    @classmethod
    def from_payload(cls: type[C], payload: dict[str, Any]) -> C:
        known = _field_names(cls)
        return cls(**{k: v for k, v in payload.items() if k in known})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A card class's field names, in order (``dataclasses.fields`` rebuilds them on every
    call; a card is turned into a payload for every alert)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class Ping:
    """Someone to notify: a staff member or a group, with their id on each platform.

    Adapters turn it into a real notification (``<@U1>``/``<!subteam^S1>`` on Slack,
    ``<@1>``/``<@&1>`` on Discord) with ``ChatAdapter.mention``.
    """

    name: str
    kind: str = "user"  # user | group
    ids: dict[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "ids": dict(self.ids)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Ping:
        ids = payload.get("ids") or {}
        return cls(
            name=str(payload.get("name", "")),
            kind=str(payload.get("kind", "user")),
            ids={str(k): str(v) for k, v in ids.items()},
        )


@dataclass(frozen=True, slots=True)
class AlertCard(Card):
    """A new conversation worth a look: everything staff need to decide without leaving chat."""

    kind: ClassVar[str] = "alert"
    source: str = ""
    platform: str = ""
    title: str = ""
    text: str = ""
    url: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    followers: int = 0
    influence: float = 0.0
    sentiment: float = 0.0
    sentiment_label: str = "neutral"
    sentiment_by: str = "offline"  # the labeller that decided: offline, or a model's name
    severity: str = "normal"
    rule: str | None = None
    channel: str = ""
    contact: str | None = None
    posted_at: str = ""
    escalation: str | None = None
    why: str | None = None  # which rule and route sent it to this channel
    pings: tuple[dict[str, Any], ...] = ()  # Ping payloads to notify with the escalation
    lead: bool = False  # offer Create lead: a social alert while a CRM is configured

    def ping_list(self) -> list[Ping]:
        """The people and groups this alert notifies."""
        return [Ping.from_payload(p) for p in self.pings]


@dataclass(frozen=True, slots=True)
class FollowUpCard(Card):
    """A further mention or CRM event in an existing conversation (goes into its thread)."""

    kind: ClassVar[str] = "followup"
    author_handle: str | None = None
    text: str = ""
    url: str | None = None
    sentiment_label: str = "neutral"
    reopened: bool = False


@dataclass(frozen=True, slots=True)
class StatusCard(Card):
    """The conversation's state changed; adapters edit the alert in place."""

    kind: ClassVar[str] = "update"
    status: str = "open"
    line: str = ""
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class NoticeCard(Card):
    """A plain message to a channel (digests, admin notices)."""

    kind: ClassVar[str] = "notice"
    text: str = ""


@dataclass(frozen=True, slots=True)
class DigestCard(Card):
    """Several alerts in one message (a burst over the channel budget, a group, quiet hours).

    ``items`` lists the first alerts (conversation id, severity, who, title, url);
    ``total`` counts all of them; ``counts`` sums them by severity.
    """

    kind: ClassVar[str] = "digest"
    reason: str = ""
    total: int = 0
    items: tuple[dict[str, Any], ...] = ()
    counts: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class SuggestionCard(Card):
    """A suggested reply, posted in the alert's thread after the alert (see handlers/suggest).

    ``label`` says who drafted it ("offline suggestion from the knowledge base", the model's
    name...); staff use it, vote on it, or ignore it.
    """

    kind: ClassVar[str] = "suggestion"
    suggestion_id: int = 0
    text: str = ""
    tone: str = "neutral"
    confidence: float = 0.0
    needs_human: bool = False
    reason: str = ""
    origin: str = "llm"
    label: str = ""
    platform: str = ""
    limit: int = 0
    # how staff may answer from chat here (handlers/publishing.py): "off" shows no Send
    # buttons; "direct" and "approve" show Send and Edit & send
    reply_mode: str = "off"


@dataclass(frozen=True, slots=True)
class ReplyCard(Card):
    """A staff reply to the customer, posted in the alert's thread at each step.

    ``state``: ``awaiting`` (a draft waiting for approval: adapters show Approve, Edit and
    Reject to everyone, and the handler checks who may), ``queued`` (approved or sent
    directly; being published), ``published`` (``url`` is the public link), ``rejected``,
    ``failed`` (``error`` says why, in words).
    """

    kind: ClassVar[str] = "reply"
    reply_id: int = 0
    state: str = "awaiting"
    text: str = ""
    author: str = ""  # staff name of who wrote it
    approver: str | None = None
    approvers: str = ""  # who may approve, in words ("a manager or admin")
    platform: str = ""  # where it is published (mastodon, bluesky, reddit, x, ...)
    url: str | None = None
    error: str | None = None


DIGEST_ITEMS = 10


def followup_digest(followups: list[FollowUpCard], reason: str) -> DigestCard:
    """A digest of further messages in existing conversations."""
    items = tuple(
        {
            "conversation_id": f.conversation_id,
            "severity": "follow-up",
            "who": f"@{f.author_handle}" if f.author_handle else "CRM",
            "platform": "",
            "title": f.text[:120],
            "url": f.url,
        }
        for f in followups[:DIGEST_ITEMS]
    )
    conversations = len({f.conversation_id for f in followups})
    return DigestCard(
        conversation_id=None,
        reason=f"{len(followups)} follow-ups in {conversations} conversations; {reason}",
        total=len(followups),
        items=items,
        counts={"follow-up": len(followups)},
    )


CARD_TYPES: dict[str, type[Card]] = {
    c.kind: c
    for c in (
        AlertCard,
        FollowUpCard,
        StatusCard,
        NoticeCard,
        DigestCard,
        SuggestionCard,
        ReplyCard,
    )
}


def digest_of(alerts: list[AlertCard], reason: str) -> DigestCard:
    """A digest of ``alerts``: the first DIGEST_ITEMS listed, all of them counted."""
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.severity] = counts.get(alert.severity, 0) + 1
    items = tuple(
        {
            "conversation_id": a.conversation_id,
            "severity": a.severity,
            "who": f"@{a.author_handle}" if a.author_handle else (a.author_name or a.platform),
            "platform": a.platform,
            "title": a.title,
            "url": a.url,
        }
        for a in alerts[:DIGEST_ITEMS]
    )
    return DigestCard(
        conversation_id=None, reason=reason, total=len(alerts), items=items, counts=counts
    )


def card_from_outbox(kind: str, payload: dict[str, Any]) -> Card:
    """Rebuild the card stored in an outbox row; an unknown kind is an error, not a skip."""
    try:
        card_type = CARD_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown outbox message kind {kind!r}") from None
    return card_type.from_payload(payload)
