"""The knowledge base of approved replies: store what staff sent, rank what fits a mention.

Ranking (docs/suggestions.md, "How the knowledge base is ranked"): BM25 relevance of the
entry's question and reply to the query's words, times a vote factor (the team's thumbs)
and a mild recency factor; ties go to more net votes, then the newer entry. The formula is
computed here in Python, the same on SQLite and PostgreSQL; the database
(``storage/kb_search.py``) supplies the corpus statistics and the entries holding the key
words, best impact first, until no unread entry can enter the top; :func:`rank` is the
same formula over any list of entries (the exhaustive ranking the benchmark compares
against). An entry with no query word is never suggested, however
popular. An entry's intent is that of the customer message it answered
(``handlers/suggest/intent.py``), so a search can keep to one intent. Stored replies keep
the customer's name as ``{handle}``; :func:`render` fills it in, with a neutral
"@customer" wherever an entry is shown rather than sent.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from sqlmodel import Session, col, select

from handlers.suggest.gather import latest_message
from handlers.suggest.intent import Intent, classify_text
from handlers.suggest.prompt import SuggestionInput
from storage import kb_search
from storage import suggestions as store
from storage.kb_search import K1, B, Candidate, Stats, distinctive, idf, words
from storage.models import Author, Conversation
from storage.suggestions import KnowledgeEntry

log = logging.getLogger(__name__)

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "with",
        "you",
        "your",
        "just",
    }
)
PLACEHOLDER = "{handle}"
CRM_PLATFORM = "crm"  # the platform of conversations that started from a CRM event
SHOWN_AS = "@customer"  # how the placeholder reads where an entry is shown, not sent
NOT_NAMES = frozenset(
    {"dr", "mr", "mrs", "ms", "der", "die", "das", "le", "la", "les", "el", "los"}
)


def tokens(text: str) -> list[str]:
    """The query words of ``text``: its words (``storage.kb_search.words``) without stop
    words and single characters."""
    return [t for t in words(text) if t not in STOPWORDS and len(t) > 1]


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entry with its score and the parts of it: ``relevance`` (BM25) orders, and
    ``similarity`` (relevance over the query's idf sum, 0..1) says whether it is close enough to send as is."""

    entry: KnowledgeEntry
    score: float
    similarity: float
    relevance: float = 0.0


def _words_of(entry: KnowledgeEntry) -> list[str]:
    return words(f"{entry.question} {entry.text}")


def bm25(found: Sequence[str], terms: Iterable[str], stats: Stats) -> float:
    """Okapi BM25 of a text (its ``found`` words) for the query ``terms``."""
    return relevance(Counter(found), len(found), terms, stats)


def relevance(counts: Mapping[str, int], size: int, terms: Iterable[str], stats: Stats) -> float:
    """BM25 of an entry of ``size`` words holding each word ``counts`` times."""
    length = size / (stats.average_length or 1.0)
    score = 0.0
    for term in terms:
        tf = counts.get(term, 0)
        if tf:
            score += idf(stats, term) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length))
    return score


def similarity(found: Sequence[str], terms: Sequence[str], stats: Stats) -> float:
    """How much of the query an entry covers, 0..1: the weight of the query words it holds
    over that of all of them, a word weighing ``ln((1 + N) / (1 + n)) + 1`` (n entries of N
    hold it; 1 for a word no entry holds)."""
    held = set(found)
    weights = {t: _weight(stats, t) for t in terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in held) / total if total else 0.0


def _weight(stats: Stats, term: str) -> float:
    n = stats.df.get(term, 0)
    return math.log((1 + stats.entries) / (1 + n)) + 1.0 if n else 1.0


def render(text: str, handle: str = SHOWN_AS) -> str:
    """An entry's text with the customer's name filled in (``handle``: "@amy", "there")."""
    return text.replace(PLACEHOLDER, handle)


def entry_intent(entry: Rankable) -> Intent:
    """What the message an entry answered was. An entry with no recorded message, or one
    written on a CRM record (a note like "Called, left a voicemail", not a reply to a
    customer), is "other": it never grounds a draft of a known intent."""
    if entry.platform == CRM_PLATFORM or not entry.question.strip():
        return Intent.OTHER
    return classify_text(entry.question)


def vote_factor(up: int, down: int) -> float:
    """1 with no votes; up-votes raise it, down-votes lower it (never to zero)."""
    w = kb_search
    return min(w.VOTE_MAX, max(w.VOTE_MIN, 1.0 + w.VOTE_WEIGHT * (up - down)))


def recency_factor(created_at: datetime, now: datetime) -> float:
    """1 for a new entry, slowly less for older ones."""
    age_days = max(0.0, (now - created_at).total_seconds() / 86400)
    return 1.0 / (1.0 + kb_search.RECENCY_WEIGHT * age_days / kb_search.RECENCY_DAYS)


class Rankable(Protocol):
    """What the ranking reads of an entry (a ``KnowledgeEntry`` or an index candidate):
    its votes and date for the score, the message it answered for its intent."""

    @property
    def id(self) -> int | None: ...
    @property
    def question(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def votes_up(self) -> int: ...
    @property
    def votes_down(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...


R = TypeVar("R", bound=Rankable)
Scored = tuple[R, float, float]  # entry, relevance, score


def _scored(
    items: Iterable[tuple[R, Mapping[str, int], int]],
    terms: Sequence[str],
    now: datetime,
    stats: Stats,
) -> list[Scored[R]]:
    """The ranking formula over entries (each with its word counts and length), best
    first (an entry with no query word is left out)."""
    scored: list[Scored[R]] = []
    for entry, counts, size in items:
        rel = relevance(counts, size, terms, stats)
        if rel <= 0:
            continue
        score = (
            rel
            * vote_factor(entry.votes_up, entry.votes_down)
            * recency_factor(entry.created_at, now)
        )
        scored.append((entry, rel, score))
    scored.sort(key=lambda s: _order(s[0], s[2]))
    return scored


def _order(entry: Rankable, score: float) -> tuple[float, int, float, int]:
    """Best first; equal scores: more net votes, then newer, then the later id."""
    return (
        -score,
        -(entry.votes_up - entry.votes_down),
        -entry.created_at.timestamp(),
        -(entry.id or 0),
    )


def _ranked(
    scored: Iterable[tuple[KnowledgeEntry, list[str], float, float]],
    terms: Sequence[str],
    stats: Stats,
) -> list[Ranked]:
    return [
        Ranked(e, score, similarity(found, terms, stats), rel) for e, found, rel, score in scored
    ]


@dataclass
class Corpus:
    """Entries with their words and statistics: the exhaustive ranking over all of them
    (what :func:`search` must agree with when given every entry)."""

    entries: Sequence[KnowledgeEntry]
    found: list[list[str]]
    stats: Stats
    _postings: dict[str, list[int]] | None = None

    @classmethod
    def of(cls, entries: Sequence[KnowledgeEntry]) -> Corpus:
        found = [_words_of(e) for e in entries]
        df: Counter[str] = Counter()
        for words_ in found:
            df.update(set(words_))
        return cls(entries, found, Stats(len(entries), sum(map(len, found)), dict(df)))

    def rank(self, query: str, now: datetime) -> list[Ranked]:
        """Every entry holding a key word of ``query``, best first."""
        terms = query_terms(query)
        key = distinctive(terms, self.stats)
        if not key:
            return []
        if self._postings is None:
            self._postings = {}
            for i, words_ in enumerate(self.found):
                for term in set(words_):
                    self._postings.setdefault(term, []).append(i)
        hits = sorted({i for t in key for i in self._postings.get(t, ())})  # others score 0
        found = {id(self.entries[i]): self.found[i] for i in hits}
        items = ((self.entries[i], Counter(self.found[i]), len(self.found[i])) for i in hits)
        scored = _scored(items, key, now, self.stats)
        full = ((e, found[id(e)], rel, score) for e, rel, score in scored)
        return _ranked(full, terms, self.stats)


def rank(entries: Sequence[KnowledgeEntry], query: str, now: datetime) -> list[Ranked]:
    """Every entry that shares words with ``query``, best first: the ranking formula
    computed over exactly these entries, with their own corpus statistics."""
    return Corpus.of(entries).rank(query, now)


def query_terms(query: str) -> list[str]:
    """The distinct query words of ``query``, in order."""
    return list(dict.fromkeys(tokens(query)))


def search(
    session: Session, query: str, now: datetime, limit: int = 5, intent: Intent | None = None
) -> list[Ranked]:
    """The best ``limit`` approved replies for ``query`` (only those answering a message of
    ``intent`` when it is given), ranked with the whole knowledge base's statistics.

    The key words' postings are read best impact first (``kb_search.Postings``), each
    entry read is scored with the formula, and reading stops once the ``limit``-th best
    score beats the bound on every entry not read: the answer is the exhaustive
    ranking's first ``limit``."""
    terms = query_terms(query)
    if not terms:
        return []
    kb_search.refresh(session.connection())
    stats = kb_search.stats(session, terms)
    key = distinctive(terms, stats)
    if not key or limit <= 0:
        return []
    postings = kb_search.Postings(session, key, stats, now)
    seen: list[Scored[Candidate]] = []
    intents: dict[int, Intent] = {}
    while True:
        fresh = postings.next()
        seen.extend(_scored(((f.entry, f.counts, f.length) for f in fresh), key, now, stats))
        seen.sort(key=lambda s: _order(s[0], s[2]))
        picked = _picked(seen, limit, intent, intents)
        if postings.exhausted or (len(picked) == limit and picked[-1][2] > postings.bound()):
            break
    if not picked:
        return []
    ids = [c.id for c, *_ in picked]
    entries = {
        e.id: e for e in session.exec(select(KnowledgeEntry).where(col(KnowledgeEntry.id).in_(ids)))
    }
    full = [
        (entries[c.id], _words_of(entries[c.id]), rel, score)
        for c, rel, score in picked
        if c.id in entries
    ]
    return _ranked(full, terms, stats)


def _picked(
    scored: Sequence[Scored[Candidate]],
    limit: int,
    intent: Intent | None,
    intents: dict[int, Intent],
) -> list[Scored[Candidate]]:
    """The first ``limit`` of ``scored`` of ``intent`` (any when None); an entry's intent
    is classified once, and only when it is needed."""
    if intent is None:
        return list(scored[:limit])
    picked: list[Scored[Candidate]] = []
    for item in scored:
        entry = item[0]
        if entry.id not in intents:
            intents[entry.id] = entry_intent(entry)
        if intents[entry.id] is intent:
            picked.append(item)
            if len(picked) == limit:
                break
    return picked


def search_for(session: Session, data: SuggestionInput, now: datetime) -> list[Ranked]:
    """The approved replies that may ground a draft for ``data``: same intent, best first."""
    return search(session, data.mention, now, intent=Intent(data.intent))


def remember(
    session: Session,
    text: str,
    now: datetime,
    *,
    question: str = "",
    platform: str | None = None,
    origin: str = "reply",
    conversation_id: int | None = None,
    staff_id: int | None = None,
) -> KnowledgeEntry | None:
    """Keep an approved reply (once per text); None for a blank one."""
    text = text.strip()
    if not text:
        return None
    existing = store.entry_with_text(session, text)
    if existing is not None:
        return existing
    return store.add_entry(
        session,
        text=text,
        question=question,
        platform=platform,
        origin=origin,
        conversation_id=conversation_id,
        staff_id=staff_id,
        created_at=now,
    )


def load_seed(session: Session, path: Path, now: datetime) -> int:
    """Add the approved replies of a JSON Lines file (``{"question": ..., "reply": ...}``);
    returns how many were new. Bad lines are logged and skipped."""
    added = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            reply = str(data["reply"])
        except (ValueError, KeyError, TypeError):
            log.warning("%s:%d: not a knowledge-base line, skipped", path, number)
            continue
        if store.entry_with_text(session, reply.strip()) is not None:
            continue
        remember(
            session,
            reply,
            now,
            question=str(data.get("question", "")),
            platform=data.get("platform"),
            origin="seed",
        )
        added += 1
    return added


def remember_reply(
    session: Session, conversation: Conversation, staff_id: int | None, text: str, now: datetime
) -> KnowledgeEntry | None:
    """A reply staff sent: kept with the customer message it answered, the customer's
    handle and name replaced by ``{handle}`` so a reuse never greets the wrong person."""
    assert conversation.id is not None
    author = session.get(Author, conversation.author_id) if conversation.author_id else None
    if author is not None:
        text = depersonalize(text, author.handle, author.display_name)
    return remember(
        session,
        text,
        now,
        question=latest_message(session, conversation.id),
        platform=conversation.platform,
        origin="reply",
        conversation_id=conversation.id,
        staff_id=staff_id,
    )


def depersonalize(text: str, handle: str, name: str | None) -> str:
    """Replace the customer's @handle, handle and name (whole and first name) by ``{handle}``."""
    words = [f"@{handle}", handle]
    if name:
        first = name.split()[:1]
        words += [name, *(w for w in first if w.lower() not in STOPWORDS | NOT_NAMES)]
    for word in sorted({w for w in words if len(w) >= 3}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w@]){re.escape(word)}(?!\w)", PLACEHOLDER, text, flags=re.IGNORECASE)
    return text.replace("@" + PLACEHOLDER, PLACEHOLDER)
