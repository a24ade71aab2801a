"""Ingest stage 1, dedupe: drop events repeated within the batch or already stored.

An event is the same as another when its kind, ``source`` and ``external_id`` are; the
first occurrence is kept (with the group it came in), so a retried request or a replayed
delivery stores nothing twice. The same read (storage/ingest_lookup.py, one statement on
PostgreSQL) also fetches what the later stages need to know: the authors, the contacts
their handles belong to and the conversations the thread keys continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from handlers.events import CrmEvent, InboundEvent, Mention
from handlers.ingest_items import Item
from storage import contacts as contact_store
from storage import ingest_lookup
from storage.ingest_rows import LookupKeys, Prefetched


def author_key(mention: Mention) -> tuple[str, str]:
    """How an author is known: (platform, normalised handle)."""
    return (mention.platform, contact_store.normalize_handle(mention.author_handle))


def dedupe(
    conn: Connection,
    events: Sequence[InboundEvent],
    owners: Sequence[int],
    reopen_since: datetime,
) -> tuple[list[Item], Prefetched]:
    """The events not seen before, as items (``owners[n]`` is event n's group), and what
    the database holds for them (conversations resolved since ``reopen_since`` count)."""
    seen: set[tuple[type, str, str]] = set()
    unique: list[tuple[InboundEvent, int]] = []
    for event, owner in zip(events, owners, strict=True):
        key = (type(event), event.source, event.external_id)
        if key not in seen:
            seen.add(key)
            unique.append((event, owner))
    mentions = [e for e, _ in unique if isinstance(e, Mention)]
    crm = [e for e, _ in unique if isinstance(e, CrmEvent)]
    authors = list(dict.fromkeys(author_key(m) for m in mentions))
    # a CRM event in the batch may add the contact handle a new author belongs to, so
    # contacts are then looked up after the CRM events are stored (ingest_authors.py)
    handles = None if any(e.contact_handles for e in crm) else sorted({h for _, h in authors})
    found = ingest_lookup.lookup(
        conn,
        LookupKeys(
            mentions=[(e.source, e.external_id) for e in mentions],
            crm_events=[(e.source, e.external_id) for e in crm],
            authors=authors,
            handles=handles,
            thread_keys=sorted({e.thread_key for e, _ in unique}),
            resolved_since=reopen_since,
        ),
    )
    items = [
        Item(e, owner=o)
        for e, o in unique
        if (e.source, e.external_id)
        not in (found.mentions if isinstance(e, Mention) else found.crm_events)
    ]
    return items, found
