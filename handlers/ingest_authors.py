"""Ingest stage 2, enrichment: who wrote each event.

A CRM event's contact is created or updated from the event; a mention's author is found
by (platform, normalised handle), created on first sight (linked to a contact by handle,
else by email) with its influence, and its follower count refreshed when it changed.
Sentiment, the other enrichment, is scored meanwhile by handlers/sentiment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from handlers.events import CrmEvent, Mention
from handlers.influence import influence
from handlers.ingest_dedupe import author_key
from handlers.ingest_items import Item
from storage import contacts as contact_store
from storage import ingest_sql as sql
from storage.ingest_rows import AuthorRefresh, KnownAuthor, NewAuthor, Prefetched


def upsert_contact(conn: Connection, event: CrmEvent, now: datetime) -> int | None:
    """The local id of the event's CRM contact, stored or updated from the event."""
    if event.contact_id is None:
        return None
    values = {
        "name": event.contact_name,
        "email": event.contact_email,
        "company": event.company,
        "deal_name": event.deal_name,
        "deal_stage": event.stage,
        "deal_amount": event.amount,
        "lifecycle_stage": event.properties.get("lifecyclestage"),
    }
    return contact_store.upsert_contact(
        conn, event.source, event.contact_id, values, list(event.contact_handles), now
    )


def resolve_authors(conn: Connection, items: list[Item], now: datetime, found: Prefetched) -> None:
    """Set ``author_id`` and ``contact_id`` of the mention items, creating new authors
    and refreshing changed follower counts (the latest mention of an author wins);
    ``found`` holds the known authors (and maybe the contacts of their handles)."""
    if not items:
        return
    latest: dict[tuple[str, str], Mention] = {}
    for item in items:
        assert isinstance(item.event, Mention)
        latest[author_key(item.event)] = item.event
    known = found.authors
    missing = [k for k in latest if k not in known]
    is_new = set(missing)
    by_handle = found.handles
    if by_handle is None:
        by_handle = sql.contacts_by_handle(conn, sorted({h for _, h in missing}))
    emails = {m.author_email.lower() for k, m in latest.items() if k in is_new and m.author_email}
    by_email = contact_store.contacts_by_email(conn, emails)
    new_rows: list[NewAuthor] = []
    for platform, handle in missing:
        mention = latest[(platform, handle)]
        contact = by_handle.get(handle)
        if contact is None and mention.author_email:
            contact = by_email.get(mention.author_email.lower())
        new_rows.append(
            NewAuthor(
                platform=platform,
                handle=handle,
                display_name=mention.author_name,
                followers=mention.author_followers,
                influence=influence(mention.author_followers),
                contact_id=contact,
                first_seen=now,
                updated_at=now,
            )
        )
    refreshed = [
        AuthorRefresh(
            id=known[key].id,
            followers=m.author_followers,
            influence=influence(m.author_followers),
            updated_at=now,
        )
        for key, m in latest.items()
        if key not in is_new and known[key].followers != m.author_followers
    ]
    ids = sql.write_authors(conn, new_rows, refreshed)
    for row, author_id in zip(new_rows, ids, strict=True):
        known[(row["platform"], row["handle"])] = KnownAuthor(
            author_id, row["followers"], row["contact_id"]
        )
    for item in items:
        assert isinstance(item.event, Mention)
        author = known[author_key(item.event)]
        item.author_id, item.contact_id = author.id, author.contact_id
