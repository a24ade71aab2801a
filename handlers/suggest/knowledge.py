"""The knowledge base of approved replies: store what staff sent, rank what fits a mention.

Ranking is portable Python (same answers on SQLite and PostgreSQL): TF-IDF cosine
similarity between the mention and each entry's question and reply, times a vote factor
(the team's thumbs) and a mild recency factor. An entry with nothing in common with the
mention is never suggested, however popular. An entry's intent is that of the customer
message it answered (``handlers/suggest/intent.py``), so a search can keep to one intent.
Stored replies keep the customer's name as ``{handle}``; :func:`render` fills it in, with
a neutral "@customer" wherever an entry is shown rather than sent.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from handlers.suggest.gather import latest_message
from handlers.suggest.intent import Intent, classify_text
from handlers.suggest.prompt import SuggestionInput
from storage import suggestions as store
from storage.models import Author, Conversation
from storage.suggestions import KnowledgeEntry

log = logging.getLogger(__name__)

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
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


def tokens(text: str) -> list[str]:
    """Lower-case word tokens without stop words."""
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS and len(t) > 1]


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entry with its score and the parts of it."""

    entry: KnowledgeEntry
    score: float
    similarity: float


def _vectors(docs: Sequence[list[str]]) -> tuple[list[dict[str, float]], dict[str, float]]:
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    n = len(docs)
    idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
    vectors = [_weigh(Counter(doc), idf) for doc in docs]
    return vectors, idf


def _weigh(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {term: (1 + math.log(tf)) * idf.get(term, 1.0) for term, tf in counts.items()}
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


def rank(entries: Sequence[KnowledgeEntry], query: str, now: datetime) -> list[Ranked]:
    """Entries that share words with ``query``, best first."""
    query_tokens = tokens(query)
    if not query_tokens or not entries:
        return []
    docs = [tokens(f"{e.question} {e.text}") for e in entries]
    vectors, idf = _vectors(docs)
    q = _weigh(Counter(query_tokens), idf)
    ranked: list[Ranked] = []
    for entry, vector in zip(entries, vectors, strict=True):
        similarity = sum(weight * vector.get(term, 0.0) for term, weight in q.items())
        if similarity <= 0:
            continue
        score = (
            similarity
            * vote_factor(entry.votes_up, entry.votes_down)
            * recency_factor(entry.created_at, now)
        )
        ranked.append(Ranked(entry, score, similarity))
    ranked.sort(key=lambda r: (-r.score, -(r.entry.id or 0)))
    return ranked


def search(
    session: Session, query: str, now: datetime, limit: int = 5, intent: Intent | None = None
) -> list[Ranked]:
    """The best ``limit`` approved replies for ``query`` (only those answering a message of
    ``intent`` when it is given)."""
    picked: list[Ranked] = []
    for r in rank(store.recent_entries(session), query, now):  # classify only what is needed
        if intent is None or entry_intent(r.entry) is intent:
            picked.append(r)
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
