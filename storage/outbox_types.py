"""What an outbox row is (:class:`OutboxKind`) and where it is in its life
(:class:`OutboxStatus`). Stored as their plain string values, so the columns stay text."""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    """The card an outbox row carries (``handlers.cards.CARD_TYPES`` has one per kind)."""

    ALERT = "alert"
    FOLLOWUP = "followup"
    UPDATE = "update"  # a status change of the conversation, edited into its alert
    NOTICE = "notice"
    DIGEST = "digest"
    SUGGESTION = "suggestion"
    REPLY = "reply"


class OutboxStatus(StrEnum):
    """``pending`` until the platform confirmed the post (``sent``); ``dead`` after an
    error that will not heal (``crmbot outbox retry`` brings it back), ``dropped`` by an
    admin (``crmbot outbox drop``)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    DROPPED = "dropped"
