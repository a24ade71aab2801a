"""Retention: erase or delete what is older than the configured ages.

Rows are erased in place (text replaced, links dropped) rather than deleted where other
rows or metrics depend on them, so counts, cycles and rollups never move. Outbox rows
are deleted, but only once posted (``sent``) or given up (``dead``): a row still waiting
is never touched, whatever its age.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, update

from storage.crm import DONE, FAILED, CrmEnrichment
from storage.ingest_sql import table
from storage.models import Conversation, CrmEvent, Mention, Outbox
from storage.outbox_types import OutboxStatus
from storage.privacy import ERASED
from storage.replies import SocialReply
from storage.suggestions import Suggestion

FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.DROPPED)
FINISHED_REPLIES = ("published", "rejected", "failed")


def _rows(result: object) -> int:
    return max(0, int(getattr(result, "rowcount", 0) or 0))


def expire_mentions(conn: Connection, before: datetime) -> dict[str, int]:
    """Mention texts and links received before ``before``; titles of conversations idle
    since then."""
    m, c = table(Mention), table(Conversation)
    mentions = conn.execute(
        update(m).where(m.c.received_at < before, m.c.text != ERASED).values(text=ERASED, url=None)
    )
    titles = conn.execute(
        update(c).where(c.c.last_activity_at < before, c.c.title != ERASED).values(title=ERASED)
    )
    return {"mentions": _rows(mentions), "conversation_titles": _rows(titles)}


def expire_crm_events(conn: Connection, before: datetime) -> dict[str, int]:
    """CRM event summaries and properties received before ``before``, and the finished
    reads of their CRM objects (``crm_enrichment``: done or failed before then; one still
    pending is never touched)."""
    e, q = table(CrmEvent), table(CrmEnrichment)
    result = conn.execute(
        update(e)
        .where(e.c.received_at < before, e.c.summary != ERASED)
        .values(summary=ERASED, properties={})
    )
    reads = conn.execute(delete(q).where(q.c.status.in_((DONE, FAILED)), q.c.done_at < before))
    return {"crm_events": _rows(result), "crm_enrichments": _rows(reads)}


def expire_outbox(conn: Connection, before: datetime) -> dict[str, int]:
    """Delete posted (or dead) outbox rows created before ``before``; never pending ones."""
    o = table(Outbox)
    result = conn.execute(delete(o).where(o.c.created_at < before, o.c.status.in_(FINISHED_OUTBOX)))
    return {"outbox": _rows(result)}


def expire_suggestions(conn: Connection, before: datetime) -> dict[str, int]:
    """Texts of suggested replies drafted before ``before`` (votes and counts stay)."""
    s = table(Suggestion)
    result = conn.execute(
        update(s).where(s.c.created_at < before, s.c.text != ERASED).values(text=ERASED)
    )
    return {"suggestions": _rows(result)}


def expire_replies(conn: Connection, before: datetime) -> dict[str, int]:
    """Texts of replies to customers written before ``before`` and finished (published,
    rejected or failed); one awaiting approval or still to publish keeps its text. The
    published reply's link, who wrote and approved it, and its times stay."""
    r = table(SocialReply)
    result = conn.execute(
        update(r)
        .where(r.c.created_at < before, r.c.state.in_(FINISHED_REPLIES), r.c.text != ERASED)
        .values(text=ERASED)
    )
    return {"replies": _rows(result)}
