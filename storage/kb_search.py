"""Full-text search over the knowledge base: words, corpus statistics, candidates.

The ranking itself (BM25 x votes x recency, docs/suggestions.md) is computed in Python by
``handlers/suggest/knowledge.py``, the same on both databases; the database only does
what needs an index: the statistics BM25 reads (how many entries, how many words they
hold, how many entries contain each query word) and a short list of candidates.

- SQLite: ``kb_entry_fts``, an FTS5 table with external content on ``kb_entry``
  (``question``, ``text``; tokenizer ``unicode61 remove_diacritics 0``) kept in sync by
  triggers, so every write (the store, ``crmbot forget``'s bulk updates, a manual SQL
  edit) is searchable at once; ``kb_entry_terms`` (fts5vocab) gives per-word entry
  counts, the FTS5 averages record the totals.
- PostgreSQL: ``kb_entry.search``, a stored generated ``tsvector`` ('simple'
  configuration, every non-alphanumeric run turned into a space first so it splits words
  as FTS5 does) with a GIN index; ``kb_term`` holds per-word entry counts and (under the
  empty word) the totals, kept by a trigger.

Candidates: the query's rarest words whose entries add up to at most
:data:`CANDIDATE_POSTINGS` (always at least the rarest one), the entries containing any
of them ordered by the database's own relevance x the same vote and recency factors,
best :data:`CANDIDATES`. Migration 0013 creates all of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from storage.suggestions import KnowledgeEntry

WORD = re.compile(r"[^\W_]+")
CANDIDATES = 200  # entries handed to the exact ranking
CANDIDATE_POSTINGS = 8000  # how many (word, entry) pairs the candidate query may touch
FTS_TABLE = "kb_entry_fts"
VOCAB_TABLE = "kb_entry_terms"
PG_TERMS_TABLE = "kb_term"
PG_SEARCH_COLUMN = "search"
PG_SEARCH_INDEX = "ix_kb_entry_search"
TOTALS = ""  # kb_term's row for the totals: no word is empty

# Vote and recency factors as SQL, the same as knowledge.vote_factor/recency_factor.
_SQLITE_FACTORS = (
    "min(3.0, max(0.2, 1.0 + 0.25 * (e.votes_up - e.votes_down)))"
    " / (1.0 + 0.5 * max(0.0, julianday(:now) - julianday(e.created_at)) / 180.0)"
)
_PG_FACTORS = (
    "LEAST(3.0, GREATEST(0.2, 1.0 + 0.25 * (e.votes_up - e.votes_down)))"
    " / (1.0 + 0.5 * GREATEST(0.0, EXTRACT(EPOCH FROM (CAST(:now AS timestamp)"
    " - e.created_at)) / 86400.0) / 180.0)"
)


def words(text_: str) -> list[str]:
    """The words of ``text_`` as both indexes split them: runs of letters and digits,
    lower-cased (every other character separates)."""
    return WORD.findall(text_.lower())


@dataclass(frozen=True, slots=True)
class Stats:
    """What BM25 needs to know about the whole knowledge base."""

    entries: int
    tokens: int
    df: dict[str, int]  # entries containing each word asked about

    @property
    def average_length(self) -> float:
        return self.tokens / self.entries if self.entries else 0.0


def stats(session: Session, terms: Iterable[str]) -> Stats:
    """Totals and the entry count of each of ``terms`` (0 for a word no entry has)."""
    wanted = sorted(set(terms))
    if _dialect(session) == "sqlite":
        entries, tokens = _sqlite_totals(session)
        found = _rows(session, f"SELECT term, doc FROM {VOCAB_TABLE} WHERE term IN :terms", wanted)
    else:
        totals = session.connection().execute(
            text(f"SELECT docs, tokens FROM {PG_TERMS_TABLE} WHERE term = :t"), {"t": TOTALS}
        )
        row = totals.first()
        entries, tokens = (int(row[0]), int(row[1])) if row else (0, 0)
        found = _rows(
            session, f"SELECT term, docs FROM {PG_TERMS_TABLE} WHERE term IN :terms", wanted
        )
    return Stats(entries, tokens, {t: found.get(t, 0) for t in wanted})


def candidates(
    session: Session, terms: Sequence[str], df: dict[str, int], now: datetime
) -> list[KnowledgeEntry]:
    """Entries worth ranking exactly for ``terms``: see the module docstring."""
    present = sorted((t for t in set(terms) if df.get(t, 0) > 0), key=lambda t: (df[t], t))
    if not present:
        return []
    picked, postings = [present[0]], df[present[0]]
    for term in present[1:]:
        if postings + df[term] > CANDIDATE_POSTINGS:
            break
        picked.append(term)
        postings += df[term]
    if _dialect(session) == "sqlite":
        query = " OR ".join(f'"{t}"' for t in picked)
        sql = (
            f"SELECT e.id FROM {FTS_TABLE} JOIN kb_entry e ON e.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH :q "
            f"ORDER BY -bm25({FTS_TABLE}) * {_SQLITE_FACTORS} DESC, e.id DESC LIMIT :n"
        )
        bound: dict[str, Any] = {"q": query, "now": _sqlite_time(now), "n": CANDIDATES}
    else:
        query = " | ".join(picked)
        sql = (
            "SELECT e.id FROM kb_entry e, to_tsquery('simple', :q) q "
            f"WHERE e.{PG_SEARCH_COLUMN} @@ q "
            f"ORDER BY ts_rank(e.{PG_SEARCH_COLUMN}, q) * {_PG_FACTORS} DESC, e.id DESC "
            "LIMIT :n"
        )
        bound = {"q": query, "now": _naive_utc(now), "n": CANDIDATES}
    ids = [int(r[0]) for r in session.connection().execute(text(sql), bound)]
    if not ids:
        return []
    rows = session.exec(select(KnowledgeEntry).where(KnowledgeEntry.id.in_(ids)))  # type: ignore[union-attr]
    return list(rows)


def _dialect(session: Session) -> str:
    return session.connection().dialect.name


def _rows(session: Session, sql: str, terms: list[str]) -> dict[str, int]:
    if not terms:
        return {}
    statement = text(sql).bindparams(bindparam("terms", expanding=True))
    return {str(t): int(n) for t, n in session.connection().execute(statement, {"terms": terms})}


def _sqlite_totals(session: Session) -> tuple[int, int]:
    """(entries, words) from FTS5's averages record: a varint row count, then a varint
    word count per column."""
    block = (
        session.connection()
        .execute(text(f"SELECT block FROM {FTS_TABLE}_data WHERE id = 1"))
        .scalar()
    )
    if not block:
        return 0, 0
    values = _varints(bytes(block))
    return values[0], sum(values[1:])


def _varints(data: bytes) -> list[int]:
    """SQLite's big-endian varints (7 bits a byte, the ninth byte whole)."""
    out: list[int] = []
    i = 0
    while i < len(data):
        value = 0
        for n in range(9):
            byte = data[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _sqlite_time(moment: datetime) -> str:
    return _naive_utc(moment).isoformat(" ", "microseconds")


SEARCH_OBJECTS = frozenset({FTS_TABLE, VOCAB_TABLE, PG_TERMS_TABLE, PG_SEARCH_INDEX})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's comparisons: the search index's own tables, column and index are
    made by migration 0013 and are not in the models (they differ per database)."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table":
        return not (name in SEARCH_OBJECTS or name.startswith(f"{FTS_TABLE}_"))
    if type_ == "column":
        return not (name == PG_SEARCH_COLUMN and getattr(obj.table, "name", "") == "kb_entry")
    if type_ == "index":
        return name != PG_SEARCH_INDEX
    return True
