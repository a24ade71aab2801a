"""The knowledge base of approved replies: store what staff sent, rank what fits a mention.

Ranking (docs/suggestions.md, "How the knowledge base is ranked"): BM25 relevance of the
entry's question and reply to the query's words, times a vote factor (the team's thumbs)
and a mild recency factor; ties go to more net votes, then the newer entry. The formula is
computed here in Python, the same on SQLite and PostgreSQL; the database's full-text index
(``storage/kb_search.py``) supplies the corpus statistics and a short list of candidates,
and :func:`rank` is the same formula over any list of entries (the exhaustive ranking the
benchmark compares against). An entry with no query word is never suggested, however
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from handlers.suggest.gather import latest_message
from handlers.suggest.intent import Intent, classify_text
from handlers.suggest.prompt import SuggestionInput
from storage import kb_search
from storage import suggestions as store
from storage.kb_search import Stats, words
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
VOTE_WEIGHT = 0.25  # each net vote moves the score by a quarter
RECENCY_DAYS = 180.0  # an entry this old counts 2/3 as much as a new one
K1, B = 1.2, 0.75  # BM25's term-frequency saturation and length normalisation (as FTS5)


def tokens(text: str) -> list[str]:
    """The query words of ``text``: its words (``storage.kb_search.words``) without stop
    words and single characters."""
    return [t for t in words(text) if t not in STOPWORDS and len(t) > 1]


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entry with its score and the parts of it: ``relevance`` (BM25) orders, and
    ``similarity`` (TF-IDF cosine, 0..1) says whether it is close enough to send as is."""

    entry: KnowledgeEntry
    score: float
    similarity: float
    relevance: float = 0.0


def stats_of(entries: Sequence[KnowledgeEntry]) -> Stats:
    """The corpus statistics of ``entries`` themselves (what the index keeps for all)."""
    df: Counter[str] = Counter()
    total = 0
    for entry in entries:
        found = _words_of(entry)
        total += len(found)
        df.update(set(found))
    return Stats(len(entries), total, dict(df))


def _words_of(entry: KnowledgeEntry) -> list[str]:
    return words(f"{entry.question} {entry.text}")


def idf(stats: Stats, term: str) -> float:
    """BM25's inverse document frequency as FTS5 computes it (never below 1e-6)."""
    n = stats.df.get(term, 0)
    value = math.log((stats.entries - n + 0.5) / (n + 0.5))
    return value if value > 0 else 1e-6


def bm25(found: Sequence[str], terms: Iterable[str], stats: Stats) -> float:
    """Okapi BM25 of a text (its ``found`` words) for the query ``terms``."""
    counts = Counter(found)
    length = len(found) / (stats.average_length or 1.0)
    score = 0.0
    for term in terms:
        tf = counts.get(term, 0)
        if tf:
            score += idf(stats, term) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length))
    return score


def _cosine_idf(stats: Stats, term: str) -> float:
    n = stats.df.get(term, 0)  # a word no entry has weighs 1, less than any known word
    return math.log((1 + stats.entries) / (1 + n)) + 1.0 if n else 1.0


def similarity(found: Sequence[str], terms: Sequence[str], stats: Stats) -> float:
    """TF-IDF cosine between the query ``terms`` and an entry's words (stop words out)."""
    q = _weigh(Counter(terms), stats)
    d = _weigh(Counter(t for t in found if t not in STOPWORDS and len(t) > 1), stats)
    return sum(weight * d.get(term, 0.0) for term, weight in q.items())


def _weigh(counts: Counter[str], stats: Stats) -> dict[str, float]:
    vector = {t: (1 + math.log(tf)) * _cosine_idf(stats, t) for t, tf in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def render(text: str, handle: str = SHOWN_AS) -> str:
    """An entry's text with the customer's name filled in (``handle``: "@amy", "there")."""
    return text.replace(PLACEHOLDER, handle)


def entry_intent(entry: KnowledgeEntry) -> Intent:
    """What the message an entry answered was. An entry with no recorded message, or one
    written on a CRM record (a note like "Called, left a voicemail", not a reply to a
    customer), is "other": it never grounds a draft of a known intent."""
    if entry.platform == CRM_PLATFORM or not entry.question.strip():
        return Intent.OTHER
    return classify_text(entry.question)


def vote_factor(up: int, down: int) -> float:
    """1 with no votes; up-votes raise it, down-votes lower it (never to zero)."""
    return min(3.0, max(0.2, 1.0 + VOTE_WEIGHT * (up - down)))


def recency_factor(created_at: datetime, now: datetime) -> float:
    """1 for a new entry, slowly less for older ones."""
    age_days = max(0.0, (now - created_at).total_seconds() / 86400)
    return 1.0 / (1.0 + 0.5 * age_days / RECENCY_DAYS)


Scored = tuple[KnowledgeEntry, list[str], float, float]  # entry, its words, relevance, score


def _scored(
    entries: Iterable[KnowledgeEntry], terms: Sequence[str], now: datetime, stats: Stats
) -> list[Scored]:
    """The ranking formula over ``entries``, best first (entries with no query word out)."""
    scored: list[Scored] = []
    for entry in entries:
        found = _words_of(entry)
        relevance = bm25(found, terms, stats)
        if relevance <= 0:
            continue
        score = (
            relevance
            * vote_factor(entry.votes_up, entry.votes_down)
            * recency_factor(entry.created_at, now)
        )
        scored.append((entry, found, relevance, score))
    scored.sort(key=lambda s: _order(s[0], s[3]))
    return scored


def _order(entry: KnowledgeEntry, score: float) -> tuple[float, int, float, int]:
    """Best first; equal scores: more net votes, then newer, then the later id."""
    return (
        -score,
        -(entry.votes_up - entry.votes_down),
        -entry.created_at.timestamp(),
        -(entry.id or 0),
    )


def _ranked(scored: Sequence[Scored], terms: Sequence[str], stats: Stats) -> list[Ranked]:
    return [
        Ranked(e, score, similarity(found, terms, stats), rel) for e, found, rel, score in scored
    ]


def rank(entries: Sequence[KnowledgeEntry], query: str, now: datetime) -> list[Ranked]:
    """Every entry that shares words with ``query``, best first: the ranking formula
    computed over exactly these entries, with their own corpus statistics (given the whole
    knowledge base, this is the exhaustive ranking :func:`search` answers from its index)."""
    terms = query_terms(query)
    if not terms or not entries:
        return []
    stats = stats_of(entries)
    return _ranked(_scored(entries, terms, now, stats), terms, stats)


def query_terms(query: str) -> list[str]:
    """The distinct query words of ``query``, in order."""
    return list(dict.fromkeys(tokens(query)))


def search(
    session: Session, query: str, now: datetime, limit: int = 5, intent: Intent | None = None
) -> list[Ranked]:
    """The best ``limit`` approved replies for ``query`` (only those answering a message of
    ``intent`` when it is given), ranked over the full-text index's candidates with the
    whole knowledge base's statistics."""
    terms = query_terms(query)
    if not terms:
        return []
    stats = kb_search.stats(session, terms)
    pool = kb_search.candidates(session, terms, stats.df, now)
    picked: list[Scored] = []
    for scored in _scored(pool, terms, now, stats):  # classify only what is needed
        if intent is None or entry_intent(scored[0]) is intent:
            picked.append(scored)
            if len(picked) == limit:
                break
    if not picked:
        return []
    shown = {t for _, found, _, _ in picked for t in found} | set(terms)
    return _ranked(picked, terms, kb_search.stats(session, shown))  # cosine needs their idf


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
