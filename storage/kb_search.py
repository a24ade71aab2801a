"""Full-text search over the knowledge base: words, corpus statistics, candidates.

The ranking (docs/suggestions.md, "How the knowledge base is ranked") is written once in
``handlers/suggest/knowledge.py``; here the database computes the same score where the
entries are, and supplies the statistics BM25 reads (how many entries, how many words
they hold, how many entries hold each query word).

- SQLite: ``kb_entry_fts``, an FTS5 table with external content on ``kb_entry``
  (``question``, ``text``; tokenizer ``unicode61 remove_diacritics 0``) kept in sync by
  triggers, so every write (the store, ``crmbot forget``'s bulk updates, a manual SQL
  edit) is searchable at once; ``kb_entry_terms`` (fts5vocab) gives per-word entry
  counts, the FTS5 averages record the totals; candidates are ranked by ``bm25()``.
- PostgreSQL: ``kb_entry.search``, a stored generated ``tsvector`` ('simple'
  configuration, every non-alphanumeric run turned into a space first so it splits words
  as FTS5 does) with a GIN index; ``kb_term`` holds per-word entry counts and (under the
  empty word) the totals, kept by a trigger; candidates are ranked by the same BM25 in
  SQL from the tsvector's positions.

:func:`candidates` scores every entry holding one of the query's key words
(:func:`distinctive`) and returns the best, so the answer is the exhaustive ranking's.
Migration 0015 creates all of this.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlmodel import Session

WORD = re.compile(r"[^\W_]+")
KEY_WORDS = 2  # a search is ranked by its words in the fewest entries
CANDIDATES = 50  # best entries read back (more when an intent filter needs them)
K1, B = 1.2, 0.75  # BM25's term-frequency saturation and length normalisation (as FTS5)
FTS_TABLE = "kb_entry_fts"
VOCAB_TABLE = "kb_entry_terms"
PG_TERMS_TABLE = "kb_term"
PG_SEARCH_COLUMN = "search"
PG_SEARCH_INDEX = "ix_kb_entry_search"
TOTALS = ""  # kb_term's row for the totals: no word is empty

# The vote and recency factors (knowledge.vote_factor / recency_factor), also used in SQL.
VOTE_WEIGHT = 0.25  # each net vote moves the score by this much
VOTE_MIN, VOTE_MAX = 0.2, 3.0
RECENCY_WEIGHT, RECENCY_DAYS = 0.5, 180.0  # factor 1 / (1 + weight * age / days)


def _factors_sql(least: str, greatest: str, age_days: str) -> str:
    return (
        f"{least}({VOTE_MAX}, {greatest}({VOTE_MIN}, 1.0 + {VOTE_WEIGHT}"
        f" * (e.votes_up - e.votes_down))) / (1.0 + {RECENCY_WEIGHT}"
        f" * {greatest}(0.0, {age_days}) / {RECENCY_DAYS})"
    )


def _sqlite_factors() -> str:
    return _factors_sql("min", "max", ":now - julianday(e.created_at)")


def _pg_factors() -> str:
    age = "EXTRACT(EPOCH FROM (CAST(:now AS timestamp) - e.created_at)) / 86400.0"
    return _factors_sql("LEAST", "GREATEST", age)


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
        found = _vocab_rows(session, wanted)
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking reads of an entry (the full row is loaded only for those shown)."""

    id: int
    question: str
    text: str
    platform: str | None
    votes_up: int
    votes_down: int
    created_at: datetime


_TIES = "e.votes_up - e.votes_down DESC, e.created_at DESC, e.id DESC"  # as knowledge._order
_COLUMNS = "e.id, e.question, e.text, e.platform, e.votes_up, e.votes_down, e.created_at"


def distinctive(terms: Sequence[str], stats: Stats) -> list[str]:
    """The words a search is ranked by: the :data:`KEY_WORDS` of ``terms`` in the fewest
    entries (ties by the word), leaving out words no entry has."""
    present = sorted({t for t in terms if stats.df.get(t, 0) > 0}, key=lambda t: (stats.df[t], t))
    return present[:KEY_WORDS]


def idf(stats: Stats, term: str) -> float:
    """BM25's inverse document frequency as FTS5 computes it (never below 1e-6)."""
    n = stats.df.get(term, 0)
    value = math.log((stats.entries - n + 0.5) / (n + 0.5))
    return value if value > 0 else 1e-6


def candidates(
    session: Session, key: Sequence[str], stats: Stats, now: datetime, limit: int = CANDIDATES
) -> list[Candidate]:
    """The best ``limit`` entries holding any of the ``key`` words, by the ranking formula
    computed in SQL (BM25 over ``key`` x vote factor x recency factor, ties as
    ``knowledge._order``); every entry holding none of them scores 0."""
    if not key:
        return []
    if _dialect(session) == "sqlite":
        return _sqlite_candidates(session, key, now, limit)
    # one pass over each matching entry's tsvector: its length and each key word's count
    counts = ", ".join(
        f"sum(u.n) FILTER (WHERE u.lexeme = :t{i}) AS tf{i}" for i in range(len(key))
    )
    relevance = " + ".join(
        f"coalesce(:idf{i} * c.tf{i} * {K1 + 1} / (c.tf{i} + {K1} * ({1 - B} + {B} * c.dl / :avgdl)), 0)"
        for i in range(len(key))
    )
    sql = (
        f"SELECT {_COLUMNS} FROM kb_entry e CROSS JOIN LATERAL (SELECT sum(u.n) AS dl, {counts} "
        "FROM (SELECT lexeme, coalesce(array_length(positions, 1), 1) AS n "
        f"FROM unnest(e.{PG_SEARCH_COLUMN})) u) c "
        f"WHERE e.{PG_SEARCH_COLUMN} @@ to_tsquery('simple', :q) "
        f"ORDER BY ({relevance}) * {_pg_factors()} DESC, {_TIES} LIMIT :n"
    )
    bound: dict[str, Any] = {
        "q": " | ".join(key),
        "avgdl": stats.average_length or 1.0,
        "now": _naive_utc(now),
        "n": limit,
    }
    for i, term in enumerate(key):
        bound[f"t{i}"], bound[f"idf{i}"] = term, idf(stats, term)
    return [_candidate(row) for row in session.connection().execute(text(sql), bound)]


def _sqlite_candidates(
    session: Session, key: Sequence[str], now: datetime, limit: int
) -> list[Candidate]:
    sql = (
        f"SELECT {_COLUMNS} FROM {FTS_TABLE} JOIN kb_entry e ON e.id = {FTS_TABLE}.rowid "
        f"WHERE {FTS_TABLE} MATCH :q "
        f"ORDER BY -bm25({FTS_TABLE}) * {_sqlite_factors()} DESC, {_TIES} LIMIT :n"
    )
    bound = {"q": " OR ".join(f'"{t}"' for t in key), "now": _julian(now), "n": limit}
    return [_candidate(row) for row in session.connection().execute(text(sql), bound)]


def _candidate(row: Any) -> Candidate:
    i, q, t, p, up, down, at = row[:7]
    return Candidate(int(i), q or "", t or "", p, int(up), int(down), _utc(at))


def purge_index(conn: Connection) -> None:
    """Rewrite SQLite's FTS5 index in one segment, so words deleted from entries (an
    erasure) are gone from its pages too, not only marked deleted. PostgreSQL's trigger
    already deletes a word's ``kb_term`` row when no entry holds it."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))


def _julian(moment: datetime) -> float:
    """``moment`` as a Julian day number, what SQLite's julianday() answers."""
    return (_naive_utc(moment) - datetime(1970, 1, 1)).total_seconds() / 86400.0 + 2440587.5


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


def _dialect(session: Session) -> str:
    return session.connection().dialect.name


def _rows(session: Session, sql: str, terms: list[str]) -> dict[str, int]:
    if not terms:
        return {}
    statement = text(sql).bindparams(bindparam("terms", expanding=True))
    return {str(t): int(n) for t, n in session.connection().execute(statement, {"terms": terms})}


def _vocab_rows(session: Session, terms: list[str]) -> dict[str, int]:
    """fts5vocab answers ``term = ?`` from the index but scans every word for ``IN``."""
    if not terms:
        return {}
    found: dict[str, int] = {}
    one = f"SELECT term, doc FROM {VOCAB_TABLE} WHERE term = :t{{}}"
    for start in range(0, len(terms), 400):  # SQLite allows 500 terms in a compound select
        chunk = terms[start : start + 400]
        sql = " UNION ALL ".join(one.format(i) for i in range(len(chunk)))
        bound = {f"t{i}": term for i, term in enumerate(chunk)}
        found.update((str(t), int(n)) for t, n in session.connection().execute(text(sql), bound))
    return found


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
    made by migration 0015 and are not in the models (they differ per database)."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table":
        return not (name in SEARCH_OBJECTS or name.startswith(f"{FTS_TABLE}_"))
    if type_ == "column":
        return not (name == PG_SEARCH_COLUMN and getattr(obj.table, "name", "") == "kb_entry")
    if type_ == "index":
        return name != PG_SEARCH_INDEX
    return True
