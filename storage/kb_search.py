"""Full-text search over the knowledge base: words, corpus statistics, postings.

The ranking (docs/suggestions.md, "How the knowledge base is ranked") is written once in
``handlers/suggest/knowledge.py``; here the database supplies the statistics BM25 reads
(how many entries, how many words they hold, how many entries hold each query word) and
the entries holding a search's key words, best first.

- Statistics. SQLite: ``kb_entry_fts``, an FTS5 table with external content on
  ``kb_entry`` (``question``, ``text``; tokenizer ``unicode61 remove_diacritics 0``)
  kept in sync by triggers; ``kb_entry_terms`` (fts5vocab) gives per-word entry counts,
  the FTS5 averages record the totals. PostgreSQL: ``kb_entry.search``, a stored
  generated ``tsvector`` ('simple' configuration, every non-alphanumeric run turned into
  a space first so it splits words as FTS5 does); ``kb_term`` holds per-word entry
  counts and (under the empty word) the totals, kept by a trigger.
- Postings (migration 0016, both databases): ``kb_posting`` (entry, word, impact),
  indexed by (word, impact); an impact is the entry's vote factor times its BM25 weight
  for the word at a fixed reference length (``kb_posting_ref``). :class:`Postings`
  reads them best first and bounds what is unread, so a search stops after a few dozen
  entries instead of scoring every one holding a key word, and still returns the
  exhaustive ranking's top. PostgreSQL keeps the postings by trigger from the tsvector;
  SQLite's triggers list written entries in ``kb_posting_stale`` and :func:`refresh`
  (run by every search, and after :func:`storage.suggestions.add_entry`) rebuilds
  theirs in Python: every write is searchable at once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlmodel import Session

WORD = re.compile(r"[^\W_]+")
KEY_WORDS = 2  # a search is ranked by its words in the fewest entries
FIRST_PAGE = 32  # postings read per key word by a search's first statement
GROWTH = 3  # each further page is this many times the last
MAX_PAGE = 2048  # up to this
SLACK = 1.0 + 1e-9  # the bound is raised by this much against rounding
DEFAULT_LENGTH = 40.0  # reference length of postings built over an empty knowledge base
K1, B = 1.2, 0.75  # BM25's term-frequency saturation and length normalisation (as FTS5)
FTS_TABLE = "kb_entry_fts"
VOCAB_TABLE = "kb_entry_terms"
TERMS_TABLE = "kb_term"
PG_SEARCH_COLUMN = "search"
PG_SEARCH_INDEX = "ix_kb_entry_search"
POSTINGS_TABLE = "kb_posting"
POSTINGS_INDEX = "ix_kb_posting_term"
REF_TABLE = "kb_posting_ref"
STALE_TABLE = "kb_posting_stale"
TOTALS = ""  # kb_term's row for the totals: no word is empty

# The vote and recency factors (knowledge.vote_factor / recency_factor), also used in SQL.
VOTE_WEIGHT = 0.25  # each net vote moves the score by this much
VOTE_MIN, VOTE_MAX = 0.2, 3.0
RECENCY_WEIGHT, RECENCY_DAYS = 0.5, 180.0  # factor 1 / (1 + weight * age / days)


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
        found = _rows(session, f"SELECT term, docs FROM {TERMS_TABLE} WHERE term IN :terms", wanted)
    else:  # the totals are the empty word's row: one statement
        sql = f"SELECT term, docs, tokens FROM {TERMS_TABLE} WHERE term IN :terms"
        statement = text(sql).bindparams(bindparam("terms", expanding=True))
        rows = session.connection().execute(statement, {"terms": [TOTALS, *wanted]}).all()
        found = {str(t): int(n) for t, n, _ in rows if t != TOTALS}
        totals = [(int(n), int(w)) for t, n, w in rows if t == TOTALS]
        entries, tokens = totals[0] if totals else (0, 0)
    return Stats(entries, tokens, {t: found.get(t, 0) for t in wanted})


class Candidate(NamedTuple):
    """What ranking reads of an entry: its votes and date for the score, the message it
    answered for its intent (the full row is loaded only for those shown). A tuple: a
    search makes a few hundred."""

    id: int
    question: str
    platform: str | None
    votes_up: int
    votes_down: int
    created_at: datetime


_ENTRY_COLUMNS = "e.question, e.platform, e.votes_up, e.votes_down, e.created_at"


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


class Postings:
    """Reads each key word's postings best impact first, a page at a time, and bounds
    the score of every entry not read yet.

    A posting (``kb_posting``: word, entry, impact) holds the entry's vote factor times
    its BM25 term weight for the word at the reference length, times its recency factor
    on the reference day (``kb_posting_ref``, set when the postings were built). An
    entry's real score for the key words is at most ``sum(idf(w) * impact(w))`` times
    ``max(1, average length / reference length)`` (the term weight grows at most in
    proportion to the average length) times ``1 + 0.5 * max(0, reference day - now) /
    180`` (a search dated after the reference day only finds entries older than their
    impact says; one dated before it at most that much newer). So once the ``limit``-th
    best score read exceeds :meth:`bound`, no unread entry can enter the top: the caller
    stops, with the exhaustive ranking's answer.
    """

    def __init__(self, session: Session, key: Sequence[str], stats: Stats, now: datetime) -> None:
        self._session = session
        self.key = list(key)
        self._idf = [idf(stats, t) for t in self.key]
        self._last: list[tuple[float, int] | None] = [None] * len(self.key)
        self._done = [False] * len(self.key)
        self._page = FIRST_PAGE
        self._seen: set[int] = set()
        self._average_length, self._now = stats.average_length, day(now)
        self._stretch = math.inf  # until the first page brings the reference
        self.read = 0  # postings read, for the benchmark

    @property
    def exhausted(self) -> bool:
        return all(self._done)

    def bound(self) -> float:
        """The highest score an entry not read yet can have."""
        best = 0.0
        for weight, last, done in zip(self._idf, self._last, self._done, strict=True):
            if not done:
                best += weight * (last[0] if last is not None else math.inf)
        return best * self._stretch

    def next(self) -> list[Found]:
        """The entries of the next page of postings not read before, with their counts of
        each key word and their length (one statement)."""
        parts: list[str] = []
        bound: dict[str, Any] = {"n": self._page}
        queried = [i for i, done in enumerate(self._done) if not done]
        for i in queried:
            after = ""
            last = self._last[i]
            if last is not None:
                after = f" AND (impact, entry_id) < (:v{i}, :e{i})"
                bound[f"v{i}"], bound[f"e{i}"] = last
            parts.append(
                f"SELECT * FROM (SELECT {i} AS k, impact, entry_id FROM {POSTINGS_TABLE} "
                f"WHERE term = :t{i}{after} ORDER BY impact DESC, entry_id DESC LIMIT :n) p{i}"
            )
        if not parts:
            return []
        joins, counts_sql = "", ""
        for i, term in enumerate(self.key):
            bound[f"t{i}"] = term
            joins += (
                f" LEFT JOIN {POSTINGS_TABLE} c{i} ON c{i}.entry_id = d.entry_id "
                f"AND c{i}.term = :t{i}"
            )
            counts_sql += f", c{i}.tf, c{i}.dl"
        width = 5 + 2 * len(self.key)  # where the entry's columns start
        blanks = ", NULL" * (width - 3 + _ENTRY_COLUMNS.count(",") + 1)
        # each entry once (two key words often share most entries), then the postings
        sql = (
            f"WITH p AS ({' UNION ALL '.join(parts)}) "
            f"SELECT -1 AS k, r.avgdl, d.entry_id, r.day, e.id{counts_sql}, {_ENTRY_COLUMNS} "
            f"FROM (SELECT DISTINCT entry_id FROM p) d CROSS JOIN {REF_TABLE} r{joins} "
            "LEFT JOIN kb_entry e ON e.id = d.entry_id "
            f"UNION ALL SELECT k, impact, entry_id{blanks} FROM p"
        )
        read = [0] * len(self.key)
        fresh: list[Found] = []
        for row in self._session.connection().execute(text(sql), bound).all():
            k, value, entry_id = int(row[0]), float(row[1]), int(row[2])
            if k >= 0:
                read[k] += 1
                last = self._last[k]
                if last is None or (value, entry_id) < last:
                    self._last[k] = (value, entry_id)
                continue
            if self._stretch == math.inf:
                self._reference(Reference(value or DEFAULT_LENGTH, float(row[3])))
            if entry_id in self._seen or row[4] is None:  # seen, or deleted meanwhile
                continue
            self._seen.add(entry_id)
            counts: dict[str, int] = {}
            length = 0
            for i, term in enumerate(self.key):
                tf, dl = row[5 + 2 * i], row[6 + 2 * i]
                if tf is not None:
                    counts[term], length = int(tf), int(dl)
            fresh.append(Found(_candidate((entry_id, *row[width:])), counts, length))
        for i in queried:
            if read[i] < self._page:
                self._done[i] = True
        self.read += sum(read)
        self._page = min(self._page * GROWTH, MAX_PAGE)
        return fresh

    def _reference(self, ref: Reference) -> None:
        longer = max(1.0, self._average_length / ref.length)
        earlier = _recency_divisor(ref.day - self._now)  # a search dated before the reference
        self._stretch = longer * earlier * SLACK


@dataclass(frozen=True, slots=True)
class Found:
    """An entry read from the postings: how often it holds each key word (those it holds)
    and its length in words."""

    entry: Candidate
    counts: dict[str, int]
    length: int


def impact(
    tf: int, length: int, votes_up: int, votes_down: int, created_day: float, ref: Reference
) -> float:
    """A posting's impact: the entry's vote factor, times its BM25 weight for a word it
    holds ``tf`` times at the reference average length, times its recency factor at the
    reference day (the same in migration 0016's SQL)."""
    votes = min(VOTE_MAX, max(VOTE_MIN, 1.0 + VOTE_WEIGHT * (votes_up - votes_down)))
    weight = tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / ref.length))
    return votes * weight / _recency_divisor(ref.day - created_day)


def _recency_divisor(age_days: float) -> float:
    return 1.0 + RECENCY_WEIGHT * max(0.0, age_days) / RECENCY_DAYS


def day(moment: datetime) -> float:
    """``moment`` in days since 1970 (UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / 86400.0


@dataclass(frozen=True, slots=True)
class Reference:
    """What the postings' impacts were computed at: an average length and a day."""

    length: float
    day: float


def reference(conn: Connection) -> Reference:
    row = conn.execute(text(f"SELECT avgdl, day FROM {REF_TABLE}")).first()
    if row is None:  # never: migration 0016 writes it
        return Reference(DEFAULT_LENGTH, 0.0)
    return Reference(float(row[0]) or DEFAULT_LENGTH, float(row[1]))


def refresh(conn: Connection) -> int:
    """SQLite: rebuild the postings of the entries written since the last refresh (the
    triggers list them in ``kb_posting_stale``; a deleted entry's postings are gone
    already); returns how many. PostgreSQL's trigger keeps the postings itself."""
    if conn.dialect.name != "sqlite":
        return 0
    done = 0
    ref: Reference | None = None
    pick = text(f"SELECT entry_id FROM {STALE_TABLE} LIMIT 500")
    while ids := [int(r[0]) for r in conn.execute(pick)]:
        if ref is None:
            ref = reference(conn)
        expanding: BindParameter[Any] = bindparam("ids", expanding=True)
        delta: Counter[str] = Counter()
        old = conn.execute(
            text(f"SELECT term FROM {POSTINGS_TABLE} WHERE entry_id IN :ids").bindparams(expanding),
            {"ids": ids},
        )
        delta.subtract(str(r[0]) for r in old)
        conn.execute(
            text(f"DELETE FROM {POSTINGS_TABLE} WHERE entry_id IN :ids").bindparams(expanding),
            {"ids": ids},
        )
        rows = conn.execute(
            text(
                "SELECT id, question, text, votes_up, votes_down, created_at FROM kb_entry "
                "WHERE id IN :ids"
            ).bindparams(expanding),
            {"ids": ids},
        )
        postings = []
        for entry_id, question, body, up, down, at in rows:
            found = words(f"{question or ''} {body or ''}")
            created = day(_utc(at))
            for term, tf in Counter(found).items():
                delta[term] += 1
                value = impact(tf, len(found), int(up), int(down), created, ref)
                postings.append({"e": entry_id, "t": term, "v": value, "f": tf, "l": len(found)})
        if postings:
            conn.execute(
                text(
                    f"INSERT INTO {POSTINGS_TABLE} (entry_id, term, impact, tf, dl) "
                    "VALUES (:e, :t, :v, :f, :l)"
                ),
                postings,
            )
        _count_entries(conn, delta)
        conn.execute(
            text(f"DELETE FROM {STALE_TABLE} WHERE entry_id IN :ids").bindparams(expanding),
            {"ids": ids},
        )
        done += len(ids)
    return done


def _count_entries(conn: Connection, delta: Counter[str]) -> None:
    """SQLite's ``kb_term``: move each word's entry count by ``delta``."""
    moved: list[dict[str, Any]] = [{"t": t, "n": n} for t, n in delta.items() if n]
    if not moved:
        return
    conn.execute(
        text(
            f"INSERT INTO {TERMS_TABLE} (term, docs) VALUES (:t, :n) "
            "ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs"
        ),
        moved,
    )
    conn.execute(
        text(f"DELETE FROM {TERMS_TABLE} WHERE docs <= 0 AND term IN :terms").bindparams(
            bindparam("terms", expanding=True)
        ),
        {"terms": [t for t, n in delta.items() if n < 0]},
    )


def _candidate(row: Any) -> Candidate:
    i, q, p, up, down, at = row[:6]
    at = at.replace(tzinfo=UTC) if isinstance(at, datetime) else _utc(at)
    return Candidate(int(i), q or "", p, int(up), int(down), at)


def purge_index(conn: Connection) -> None:
    """Rewrite SQLite's FTS5 index in one segment, so words deleted from entries (an
    erasure) are gone from its pages too, not only marked deleted. PostgreSQL's trigger
    already deletes a word's ``kb_term`` row when no entry holds it."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))


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


SEARCH_OBJECTS = frozenset(
    {
        FTS_TABLE,
        VOCAB_TABLE,
        TERMS_TABLE,
        PG_SEARCH_INDEX,
        POSTINGS_TABLE,
        POSTINGS_INDEX,
        REF_TABLE,
        STALE_TABLE,
    }
)


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
        return name not in (PG_SEARCH_INDEX, POSTINGS_INDEX)
    return True
