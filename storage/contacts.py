"""The CRM contact store: CRM events keep it current, authors link to it by handle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from storage.ingest_sql import table
from storage.models import Author, Contact, ContactHandle


def normalize_handle(handle: str) -> str:
    """Handles compare without '@' and case."""
    return handle.strip().lstrip("@").lower()


def upsert_contact(
    conn: Connection,
    crm: str,
    external_id: str,
    values: dict[str, Any],
    handles: list[str],
    now: datetime,
) -> int:
    """Create or update a contact (None values leave fields as they are); link its handles
    and the authors who use them. Returns the contact id."""
    t = table(Contact)
    fields = {k: v for k, v in values.items() if v is not None}
    fields["updated_at"] = now
    if fields.get("email"):
        fields["email"] = str(fields["email"]).lower()
    existing = conn.execute(
        select(t.c.id).where(t.c.crm == crm, t.c.external_id == external_id)
    ).scalar_one_or_none()
    if existing is None:
        contact_id = int(
            conn.execute(
                insert(t).values(crm=crm, external_id=external_id, **fields).returning(t.c.id)
            ).scalar_one()
        )
    else:
        contact_id = int(existing)
        conn.execute(update(t).where(t.c.id == contact_id).values(**fields))
    _link_handles(conn, contact_id, [normalize_handle(h) for h in handles if h.strip()])
    return contact_id


def _link_handles(conn: Connection, contact_id: int, handles: list[str]) -> None:
    if not handles:
        return
    h = table(ContactHandle)
    known = {
        row[0]: row[1]
        for row in conn.execute(select(h.c.handle, h.c.contact_id).where(h.c.handle.in_(handles)))
    }
    new = [
        {"contact_id": contact_id, "handle": x} for x in dict.fromkeys(handles) if x not in known
    ]
    if new:
        conn.execute(insert(h), new)
    moved = [x for x, owner in known.items() if owner != contact_id]
    if moved:
        conn.execute(update(h).where(h.c.handle.in_(moved)).values(contact_id=contact_id))
    a = table(Author)
    conn.execute(update(a).where(a.c.handle.in_(handles)).values(contact_id=contact_id))


def contacts_by_id(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Contact rows as dicts, by id."""
    if not ids:
        return {}
    t = table(Contact)
    return {
        row.id: dict(row._mapping) for row in conn.execute(select(t).where(t.c.id.in_(sorted(ids))))
    }


def contacts_by_email(conn: Connection, emails: set[str]) -> dict[str, int]:
    """email (lower-case) -> contact id."""
    if not emails:
        return {}
    t = table(Contact)
    return {
        row[0]: row[1]
        for row in conn.execute(select(t.c.email, t.c.id).where(t.c.email.in_(sorted(emails))))
    }
