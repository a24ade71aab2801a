"""A conversation's sentiment on its alert cards: one label, wherever staff look.

A conversation's sentiment is its customer's: the latest of their messages that is not
neutral (see :func:`sets_mood`). The queue, ``/crm show`` and the alert card all read the
conversation's stored score and labeller. When they change after the alert was queued (the customer wrote again, or the
model re-labelled), the alert's stored payload is updated and posted alerts are redrawn.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from handlers.cards import StatusCard
from handlers.sentiment.labels import OFFLINE, label
from storage import sentiment as store


def sets_mood(new: float, current: float) -> bool:
    """Whether a further message from the customer changes the conversation's sentiment:
    replies by others never do, and a neutral one ("hello??", "any update?") does not
    clear a mood that was negative or positive."""
    return label(new) != "neutral" or label(current) == "neutral"


def card_fields(score: float, by: str = OFFLINE) -> dict[str, Any]:
    """The alert card fields that show a sentiment."""
    return {"sentiment": score, "sentiment_label": label(score), "sentiment_by": by}


def describe(score: float, by: str = OFFLINE) -> str:
    """``negative (-0.62, offline)``: what staff read in the queue, the card and show."""
    return f"{label(score)} ({score:+.2f}, {'offline' if by == OFFLINE else by})"


def restate(
    conn: Connection, changed: dict[int, tuple[float, str]]
) -> list[tuple[StatusCard, list[str]]]:
    """Store new (score, labeller) on the conversations' alert cards; returns the redraws
    to queue for alerts already posted."""
    fields = {conv_id: card_fields(score, by) for conv_id, (score, by) in changed.items()}
    redraws = store.restate_alerts(conn, fields)
    return [
        (
            StatusCard(
                conversation_id=r.conversation_id,
                status=r.status,
                line=f"sentiment now {describe(*changed[r.conversation_id])}",
                assignee=r.assignee,
            ),
            list(r.channels),
        )
        for r in redraws
    ]
