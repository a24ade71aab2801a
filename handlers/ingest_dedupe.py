"""Ingest stage 1, dedupe: drop events repeated within the batch or already stored.

An event is the same as another when its kind, ``source`` and ``external_id`` are; the
first occurrence is kept (with the group it came in), so a retried request or a replayed
delivery stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from handlers.events import CrmEvent, InboundEvent, Mention
from handlers.ingest_items import Item
from storage import ingest_sql as sql
from storage.models import CrmEvent as CrmEventRow
from storage.models import Mention as MentionRow


def dedupe(conn: Connection, events: Sequence[InboundEvent], owners: Sequence[int]) -> list[Item]:
    """The events not seen before, as items (``owners[n]`` is event n's group)."""
    seen: set[tuple[type, str, str]] = set()
    unique: list[tuple[InboundEvent, int]] = []
    for event, owner in zip(events, owners, strict=True):
        key = (type(event), event.source, event.external_id)
        if key not in seen:
            seen.add(key)
            unique.append((event, owner))
    stored: set[tuple[type, str, str]] = set()
    for cls, model in ((Mention, MentionRow), (CrmEvent, CrmEventRow)):
        keys = [(e.source, e.external_id) for e, _ in unique if isinstance(e, cls)]
        if keys:
            stored.update((cls, s, x) for s, x in sql.existing_keys(conn, model, keys))
    return [Item(e, owner=o) for e, o in unique if (type(e), e.source, e.external_id) not in stored]
