"""Erasing one author's personal data everywhere it is stored, keeping what counts.

What goes: the author's handle and name, their mention texts and links, the CRM contact
linked to them (name, email, company, deal name, CRM id, handles), CRM event summaries
and properties, the notes staff recorded on their conversations, suggested replies
drafted for them, the question side of knowledge-base entries learnt from them, and the
personal fields of queued or sent chat messages. Then any remaining occurrence of the
handle, name or email in free-text columns (other people's mentions, digests, notices,
knowledge-base replies) is replaced as a whole word.

What stays: every id, timestamp, status, severity, sentiment score, cycle, handling
event and metric rollup, so conversation counts and response times do not move.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    String,
    Table,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)

from storage.contacts import normalize_handle
from storage.crm import CrmDeal, CrmLead
from storage.ingest_sql import table
from storage.kb_search import purge_index
from storage.models import (
    Author,
    Contact,
    ContactHandle,
    Conversation,
    CrmEvent,
    HandlingEvent,
    Mention,
    Outbox,
)
from storage.replies import SocialReply
from storage.suggestions import KnowledgeEntry, Suggestion

ERASED = "[erased]"
MIN_SECRET = 3  # shorter names are not scrubbed from other text (too many false hits)
PERSONAL_CARD_FIELDS = ("text", "title", "url", "author_handle", "author_name", "contact")
PERSONAL_DIGEST_FIELDS = ("who", "title", "url")


@dataclass(slots=True)
class Erasure:
    """How many rows of each kind were erased."""

    authors: int = 0
    mentions: int = 0
    conversations: int = 0
    contacts: int = 0
    crm_events: int = 0
    notes: int = 0
    suggestions: int = 0
    kb_entries: int = 0
    outbox: int = 0
    other_text: int = 0

    def counts(self) -> dict[str, int]:
        return asdict(self)

    @property
    def found(self) -> bool:
        return self.authors > 0 or self.contacts > 0


def _ids(conn: Connection, query: Any) -> list[int]:
    return [int(x) for x in conn.execute(query).scalars()]


def erase_author(conn: Connection, handle: str, platform: str | None = None) -> Erasure:
    """Erase the personal data of the author ``handle`` (on ``platform``, or on every
    platform) in the caller's transaction."""
    handle = normalize_handle(handle)
    out = Erasure()
    a, c, h = table(Author), table(Contact), table(ContactHandle)
    where = [a.c.handle == handle] + ([a.c.platform == platform] if platform else [])
    authors = conn.execute(select(a.c.id, a.c.display_name, a.c.contact_id).where(*where)).all()
    author_ids = [row.id for row in authors]
    contact_ids = {row.contact_id for row in authors if row.contact_id is not None}
    if platform is None or authors:
        contact_ids.update(_ids(conn, select(h.c.contact_id).where(h.c.handle == handle)))
    secrets = {handle, *(row.display_name for row in authors if row.display_name)}
    for row in conn.execute(select(c.c.name, c.c.email).where(c.c.id.in_(contact_ids))):
        secrets.update(x for x in (row.name, row.email) if x)
    conv = table(Conversation)
    conv_ids = _ids(
        conn,
        select(conv.c.id).where(
            or_(conv.c.author_id.in_(author_ids), conv.c.contact_id.in_(contact_ids))
        ),
    )
    out.authors = len(author_ids)
    out.contacts = len(contact_ids)
    out.conversations = len(conv_ids)
    m = table(Mention)
    out.mentions = _count(
        conn.execute(
            update(m)
            .where(m.c.author_id.in_(author_ids))
            .values(text=ERASED, url=None, thread_key="erased", reply_ref=None)
        )
    )
    _erase_replies(conn, conv_ids)
    conn.execute(
        update(conv)
        .where(conv.c.id.in_(conv_ids))
        .values(title=ERASED, key=literal("erased:", String) + cast(conv.c.id, String))
    )
    for author_id in author_ids:
        conn.execute(
            update(a)
            .where(a.c.id == author_id)
            .values(
                handle=f"erased-{author_id}",
                display_name=None,
                followers=0,
                influence=0.0,
                contact_id=None,
            )
        )
    conn.execute(delete(h).where(or_(h.c.contact_id.in_(contact_ids), h.c.handle == handle)))
    for contact_id in contact_ids:
        conn.execute(
            update(c)
            .where(c.c.id == contact_id)
            .values(
                external_id=f"erased-{contact_id}",
                name=None,
                email=None,
                company=None,
                owner=None,
                url=None,
                deal_name=None,
                lifecycle_stage=None,
            )
        )
    if contact_ids:  # the CRM links of leads, and deal names that may name the person
        leads, deals = table(CrmLead), table(CrmDeal)
        conn.execute(update(leads).where(leads.c.contact_id.in_(contact_ids)).values(url=None))
        conn.execute(update(deals).where(deals.c.contact_id.in_(contact_ids)).values(name=None))
    e = table(CrmEvent)
    out.crm_events = _count(
        conn.execute(
            update(e)
            .where(or_(e.c.contact_id.in_(contact_ids), e.c.conversation_id.in_(conv_ids)))
            .values(summary=ERASED, properties={})
        )
    )
    out.notes = _erase_notes(conn, conv_ids)
    s = table(Suggestion)
    out.suggestions = _count(
        conn.execute(
            update(s).where(s.c.conversation_id.in_(conv_ids)).values(text=ERASED, human_reason="")
        )
    )
    k = table(KnowledgeEntry)
    out.kb_entries = _count(
        conn.execute(update(k).where(k.c.conversation_id.in_(conv_ids)).values(question=ERASED))
    )
    out.outbox = _erase_outbox(conn, set(conv_ids))
    out.other_text = scrub_text(conn, secrets)
    purge_index(conn)  # the search index keeps no erased word, not even in old segments
    return out


def _count(result: Any) -> int:
    return max(0, int(result.rowcount or 0))


def _erase_notes(conn: Connection, conv_ids: list[int]) -> int:
    """Notes staff recorded on the conversations (reply texts) become ERASED."""
    t = table(HandlingEvent)
    erased = 0
    for row in conn.execute(select(t.c.id, t.c.detail).where(t.c.conversation_id.in_(conv_ids))):
        detail = dict(row.detail or {})
        if detail.get("text"):
            detail["text"] = ERASED
            conn.execute(update(t).where(t.c.id == row.id).values(detail=detail))
            erased += 1
    return erased


def _erase_outbox(conn: Connection, conv_ids: set[int]) -> int:
    """Personal fields of the conversations' messages, and their lines in digests."""
    t = table(Outbox)
    changed = 0
    if not conv_ids:
        return 0
    query = select(t.c.id, t.c.conversation_id, t.c.payload).where(
        or_(t.c.conversation_id.in_(conv_ids), t.c.kind == "digest")
    )
    for row in conn.execute(query).all():
        payload = dict(row.payload or {})
        before = json.dumps(payload, sort_keys=True)
        if row.conversation_id in conv_ids:
            for key in PERSONAL_CARD_FIELDS:
                if payload.get(key):
                    payload[key] = None if key in ("url", "contact") else ERASED
        items = payload.get("items")
        if isinstance(items, list):
            payload["items"] = [
                {
                    **item,
                    **{f: ERASED for f in PERSONAL_DIGEST_FIELDS if item.get(f)},
                }
                if isinstance(item, dict) and item.get("conversation_id") in conv_ids
                else item
                for item in items
            ]
        if json.dumps(payload, sort_keys=True) != before:
            conn.execute(update(t).where(t.c.id == row.id).values(payload=payload))
            changed += 1
    return changed


def free_text_columns() -> list[Column[Any]]:
    """Columns that hold free text (or JSON with text) where personal data may recur."""
    m, conv, e = table(Mention), table(Conversation), table(CrmEvent)
    hev, o, s, k = table(HandlingEvent), table(Outbox), table(Suggestion), table(KnowledgeEntry)
    return [
        m.c.text,
        m.c.url,
        conv.c.title,
        conv.c.labels,
        e.c.summary,
        e.c.properties,
        hev.c.detail,
        o.c.payload,
        o.c.last_error,
        s.c.text,
        s.c.human_reason,
        k.c.text,
        k.c.question,
    ]


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({x.strip() for x in secrets if len(x.strip()) >= MIN_SECRET}, key=len)
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in reversed(words))
    return re.compile(rf"(?<![\w.@-])@?(?:{alternatives})(?![\w@-])", re.IGNORECASE)


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, pattern) for k, v in value.items()}
    return value


def _erase_replies(conn: Connection, conv_ids: Iterable[int]) -> None:
    """Replies to the customer: texts erased; any not yet published is withdrawn."""
    r = table(SocialReply)
    ids = list(conv_ids)
    conn.execute(
        update(r)
        .where(r.c.conversation_id.in_(ids), r.c.state.in_(("awaiting", "queued")))
        .values(state="rejected", last_error="withdrawn: the customer's data was erased")
    )
    conn.execute(update(r).where(r.c.conversation_id.in_(ids)).values(text=ERASED))


def scrub_text(conn: Connection, secrets: Iterable[str]) -> int:
    """Replace whole-word occurrences of ``secrets`` in every free-text column; returns
    how many cells changed."""
    pattern = _pattern(secrets)
    if pattern is None:
        return 0
    words = [w.lower() for w in {x.strip() for x in secrets} if len(w) >= MIN_SECRET]
    changed = 0
    for column in free_text_columns():
        t = column.table
        assert isinstance(t, Table)
        (key,) = t.primary_key.columns
        as_text = func.lower(cast(column, String))
        query = select(key, column).where(
            or_(*(as_text.contains(w, autoescape=True) for w in words))
        )
        for row_id, value in conn.execute(query).all():
            cleaned = _scrub(value, pattern)
            if cleaned != value:
                conn.execute(update(t).where(key == row_id).values({column.name: cleaned}))
                changed += 1
    return changed
