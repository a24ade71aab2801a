"""Everything the ingest path reads before it writes, in one statement on PostgreSQL.

Which events are stored already, the authors, the contacts their handles belong to, and
the conversations their thread keys continue: one ``UNION ALL`` of five index lookups,
tagged per row. On PostgreSQL the keys travel as arrays (``unnest``): one round trip for
a webhook instead of five. On SQLite, which has no round trips, they travel as JSON
arrays (``json_each``): one fixed statement whatever the batch size, which SQLite
prepares once, instead of five statements per batch whose ``IN`` lists SQLAlchemy
rendered afresh each time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from storage import ingest_sql as sql
from storage import json_codec
from storage.ingest_rows import FoundConversation, KnownAuthor, LookupKeys, Prefetched

_LOOKUP = """
SELECT 'm' AS tag, m.source AS k1, m.external_id AS k2, NULL::bigint AS n1,
       NULL::bigint AS n2, NULL::bigint AS n3, NULL::json AS j
  FROM mention m WHERE (m.source, m.external_id) IN
  (SELECT * FROM unnest(%b::VARCHAR[], %b::VARCHAR[]))
UNION ALL
SELECT 'e', e.source, e.external_id, NULL, NULL, NULL, NULL
  FROM crm_event e WHERE (e.source, e.external_id) IN
  (SELECT * FROM unnest(%b::VARCHAR[], %b::VARCHAR[]))
UNION ALL
SELECT 'a', a.platform, a.handle, a.id, a.followers, a.contact_id, NULL
  FROM author a WHERE (a.platform, a.handle) IN
  (SELECT * FROM unnest(%b::VARCHAR[], %b::VARCHAR[]))
UNION ALL
SELECT 'h', h.handle, NULL, h.contact_id, NULL, NULL, NULL
  FROM contact_handle h WHERE h.handle = ANY(%b::VARCHAR[])
UNION ALL
SELECT 'c', c.key, c.status, c.id, c.cycle, c.mention_count,
       json_build_array(c.channels, c.source, c.severity, c.team, c.author_id, c.sentiment,
                        c.sentiment_by, c.resolved_at)
  FROM conversation c WHERE c.key = ANY(%b::VARCHAR[])
  AND (c.status != 'resolved' OR c.resolved_at >= %b::TIMESTAMP WITHOUT TIME ZONE)
"""


_LOOKUP_SQLITE = """
SELECT 'm' AS tag, m.source AS k1, m.external_id AS k2, NULL AS n1, NULL AS n2,
       NULL AS n3, NULL AS j
  FROM json_each(?) p CROSS JOIN mention m
  ON m.source = json_extract(p.value, '$[0]') AND m.external_id = json_extract(p.value, '$[1]')
UNION ALL
SELECT 'e', e.source, e.external_id, NULL, NULL, NULL, NULL
  FROM json_each(?) p CROSS JOIN crm_event e
  ON e.source = json_extract(p.value, '$[0]') AND e.external_id = json_extract(p.value, '$[1]')
UNION ALL
SELECT 'a', a.platform, a.handle, a.id, a.followers, a.contact_id, NULL
  FROM json_each(?) p CROSS JOIN author a
  ON a.platform = json_extract(p.value, '$[0]') AND a.handle = json_extract(p.value, '$[1]')
UNION ALL
SELECT 'h', h.handle, NULL, h.contact_id, NULL, NULL, NULL
  FROM json_each(?) p CROSS JOIN contact_handle h ON h.handle = p.value
UNION ALL
SELECT 'c', c.key, c.status, c.id, c.cycle, c.mention_count,
       json_array(json(c.channels), c.source, c.severity, c.team, c.author_id, c.sentiment,
                  c.sentiment_by, c.resolved_at)
  FROM json_each(?) k CROSS JOIN conversation c ON c.key = k.value
  WHERE (c.status != 'resolved' OR c.resolved_at >= ?)
"""


def lookup(conn: Connection, keys: LookupKeys) -> Prefetched:
    """What the database holds for ``keys``."""
    since = keys.resolved_since.astimezone(UTC).replace(tzinfo=None)
    if conn.dialect.name == "postgresql":
        params: tuple[Any, ...] = (
            *_pair_arrays(keys.mentions),
            *_pair_arrays(keys.crm_events),
            *_pair_arrays(keys.authors),
            keys.handles or [],
            keys.thread_keys,
            since,
        )
        return _gather(conn.exec_driver_sql(_LOOKUP, params).all(), keys)
    params = (
        json_codec.dumps(keys.mentions),
        json_codec.dumps(keys.crm_events),
        json_codec.dumps(keys.authors),
        json_codec.dumps(keys.handles or []),
        json_codec.dumps(keys.thread_keys),
        since.isoformat(" ", "microseconds"),
    )
    rows = conn.exec_driver_sql(_LOOKUP_SQLITE, params).all()
    return _gather(((*r[:6], json_codec.loads(r[6]) if r[6] else None) for r in rows), keys)


def _pair_arrays(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _gather(rows: Iterable[Sequence[Any]], keys: LookupKeys) -> Prefetched:
    """The tagged rows of a lookup, sorted into what they say."""
    found = Prefetched(
        mentions=set(),
        crm_events=set(),
        authors={},
        handles={} if keys.handles is not None else None,
        conversations={},
    )
    for tag, k1, k2, n1, n2, n3, extra in rows:
        if tag == "m":
            found.mentions.add((k1, k2))
        elif tag == "e":
            found.crm_events.add((k1, k2))
        elif tag == "a":
            found.authors[(k1, k2)] = KnownAuthor(n1, n2, n3)
        elif tag == "h":
            assert found.handles is not None
            found.handles[k1] = n1
        else:
            conv = _conversation(k1, k2, n1, n2, n3, extra)
            current = found.conversations.get(conv.key)
            if current is None or sql.prefer(conv, current):
                found.conversations[conv.key] = conv
    return found


def _conversation(
    key: str, status: str, conv_id: int, cycle: int, count: int, extra: list[Any]
) -> FoundConversation:
    channels, source, severity, team, author_id, sentiment, sentiment_by, resolved = extra
    return FoundConversation(
        id=conv_id,
        key=key,
        status=status,
        cycle=cycle,
        channels=list(channels),
        mention_count=count,
        source=source,
        severity=severity,
        team=team,
        resolved_at=None if resolved is None else _utc(resolved),
        author_id=author_id,
        sentiment=float(sentiment),
        sentiment_by=sentiment_by,
    )


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
