"""`/crm kb` and suggestion grounding over 100,000 approved replies (`--quick`: 10,000).

The knowledge base is generated from templates and a support vocabulary (fixed seed):
customer messages about a cloud storage product (problems, questions, praise, in many
wordings, with product areas, devices, error codes and versions) and the replies staff
sent, with votes (most entries none) and ages over two years. It is loaded before
migration 0015 runs, so the migrations' backfills build the index and the postings (0016). 200 further messages
are the queries.

Figures: p95 of ``knowledge.search(limit=10)`` on an SQLite file and on PostgreSQL (a
private schema); ``kb_search_top10_agreement``: share of sampled queries whose top 10
equals the exhaustive ranking (the same formula in Python over every entry,
``knowledge.Corpus``); ``kb_search_p95_ms_before``: the implementation this replaced
(TF-IDF in Python over the newest 5,000 entries), same data, same run.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from benchmarks.common import emit, private_pg_schema
from handlers.suggest import knowledge
from handlers.suggest.knowledge import STOPWORDS, Corpus
from storage import migrate
from storage.db import Database
from storage.ingest_sql import table
from storage.suggestions import KnowledgeEntry

PG_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
QUERIES = 200
SAMPLE = 50  # queries checked against the exhaustive ranking (each ranks every entry)
BEFORE_QUERIES = 30

AREAS = [
    "app",
    "desktop client",
    "iPhone app",
    "Android app",
    "iPad app",
    "web dashboard",
    "browser extension",
    "public API",
    "sync engine",
    "photo backup",
    "shared folders",
    "team plan",
    "family plan",
    "invoice page",
    "billing portal",
    "password vault",
    "calendar sync",
    "offline mode",
    "video player",
    "search bar",
    "export tool",
    "admin console",
    "SSO login",
    "two-step verification",
    "trash",
    "version history",
    "link sharing",
    "upload queue",
    "download manager",
    "selective sync",
    "mobile widget",
    "CLI",
    "webhooks",
    "audit log",
    "storage meter",
    "camera upload",
    "notes editor",
    "PDF viewer",
    "scanner",
    "smart albums",
]
DEVICES = [
    "Pixel 8",
    "Galaxy S23",
    "iPhone 15",
    "iPhone 12",
    "MacBook Air",
    "Windows 11 laptop",
    "Chromebook",
    "Ubuntu desktop",
    "iPad mini",
    "Surface Pro",
    "Fire tablet",
    "OnePlus 11",
    "Mac mini",
    "Linux server",
]
PROBLEMS = [
    "crashes on start",
    "won't sync",
    "is painfully slow",
    "shows a blank screen",
    "logs me out",
    "charged me twice",
    "lost my files",
    "keeps asking for my password",
    "can't upload photos",
    "fails with error {code}",
    "stopped working after the update",
    "drains the battery",
    "won't load invoices",
    "duplicates every photo",
    "times out",
    "shows the wrong quota",
    "deleted my album",
    "won't open shared links",
    "freezes when sharing",
    "spams notifications",
    "hangs at 99 percent",
    "renames my files",
    "loses comments",
    "can't find my receipts",
    "rejects my card",
    "skips large videos",
    "breaks my folder structure",
    "ignores the proxy",
]
QUESTIONS = [
    "how do I export everything",
    "can I change my billing date",
    "is there a student discount",
    "how do I add a team member",
    "where do I download invoices",
    "does it work offline",
    "how do I restore deleted files",
    "can I switch to yearly billing",
    "how do I mute notifications",
    "is two-step login available",
    "what does the enterprise plan cost",
    "can I get a refund",
    "how do I cancel my subscription",
    "do you support SAML",
    "how do I share an album with family",
    "can I recover an older version",
    "is there a size limit for uploads",
    "can I pay by bank transfer",
    "where is my data stored",
    "do you have a nonprofit discount",
    "can admins wipe a lost phone",
    "how do I move my photos",
]
PRAISE = [
    "love the new update",
    "sync is so fast now",
    "support fixed my issue in minutes",
    "best backup app I have used",
    "the new dashboard is great",
    "thanks for the quick refund",
    "smart albums are brilliant",
    "your team rocks",
]
LEADS = ("Hey @acmecloud", "@acmecloud", "Ugh,", "Honestly", "Quick question:", "So", "", "")
TAILS = ("again", "since yesterday", "every single time", "on my {device}", "", "", "!!")
GREETINGS = (
    "Hi {handle},",
    "Hey {handle}!",
    "Thanks for reaching out {handle}.",
    "Sorry {handle}!",
)
FIXES = (
    "Please update the {area} to version {version} and restart it.",
    "Sign out of the {area}, clear its cache under Settings > Storage and sign back in.",
    "We refunded the duplicate charge; it shows on your statement within {days} days.",
    "Go to Settings > Account > Export and pick the folders you want.",
    "Our status page shows an incident with the {area} (error {code}); we will update you.",
    "Open the billing portal and choose Change plan to switch to yearly billing.",
    "Deleted files stay in the trash for {days} days: open Trash and press Restore.",
    "Turn on offline mode under Settings > Sync for the folders you need.",
    "Admins add members under Team > Invite; each seat is billed monthly.",
    "Two-step verification is under Settings > Security on the {area}.",
    "Could you DM us your account email so we can check the {area} logs?",
    "Reinstalling the {area} keeps your files; they are stored in the cloud.",
    "The enterprise plan starts at {seats} seats; sales will send you a quote.",
    "Notifications can be tuned per folder under Settings > Notifications.",
    "We shipped a fix for the {area} in version {version}; please update.",
    "On a {device}, allow background refresh for the {area} so uploads continue.",
    "Version history keeps {days} days of changes: right-click a file, Versions.",
    "Large videos upload over Wi-Fi only unless you allow mobile data in the {area}.",
    "We store data in EU and US regions; pick yours under Admin > Data residency.",
    "A nonprofit discount of {seats} percent is available; reply with your registration.",
)
CLOSINGS = ("Let us know how it goes!", "Thanks for your patience.", "Happy to help.", "", "")


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        area=rng.choice(AREAS),
        device=rng.choice(DEVICES),
        code=rng.choice((400, 401, 403, 409, 413, 429, 500, 502, 503, 507)),
        version=f"{rng.randint(3, 9)}.{rng.randint(0, 30)}",
        days=rng.choice((3, 5, 7, 14, 30, 60, 90)),
        seats=rng.choice((10, 20, 25, 50, 100)),
        handle="{handle}",
    )


def message(rng: random.Random) -> str:
    """A customer message the way people write them."""
    kind = rng.random()
    area = rng.choice(AREAS)
    if kind < 0.5:
        body = f"the {area} {rng.choice(PROBLEMS)} {rng.choice(TAILS)}"
    elif kind < 0.85:
        body = f"{rng.choice(QUESTIONS)} in the {area}?"
    else:
        body = f"{rng.choice(PRAISE)}, the {area} is great"
    return _fill(f"{rng.choice(LEADS)} {body}".strip(), rng)


def reply(rng: random.Random) -> str:
    """A staff reply: greeting, one or two fixes, a closing."""
    parts = [rng.choice(GREETINGS), _fill(rng.choice(FIXES), rng)]
    if rng.random() < 0.35:
        parts.append(_fill(rng.choice(FIXES), rng))
    parts.append(rng.choice(CLOSINGS))
    return " ".join(p for p in parts if p)


def entry_rows(n: int, seed: int = 13) -> list[dict[str, Any]]:
    """``n`` approved replies with the messages they answered, votes and ages."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(rows) < n:
        text = reply(rng)
        if text in seen:
            continue
        seen.add(text)
        voted = rng.random()  # most replies are never voted on; a few become favourites
        up = 0 if voted < 0.9 else rng.choice((1, 1, 1, 2, 2, 3, 5, 8))
        down = 0 if voted < 0.97 else rng.choice((1, 1, 2))
        age = timedelta(days=rng.uniform(0, 730), seconds=rng.randrange(86400))
        rows.append(
            {
                "text": text,
                "question": message(rng),
                "platform": rng.choice(("twitter", "mastodon", "bluesky", "reddit")),
                "origin": "reply",
                "votes_up": up,
                "votes_down": down,
                "created_at": NOW - age,
            }
        )
    return rows


def queries(n: int = QUERIES, seed: int = 29) -> list[str]:
    rng = random.Random(seed)
    return [message(rng) for _ in range(n)]


def load(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """The rows into a database migrated up to 0014; then 0015 and 0016 index them."""
    migrate.upgrade(db, "0014")
    t = table(KnowledgeEntry)
    with db.transaction() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(t.insert(), list(rows[start : start + 5000]))
    migrate.upgrade(db)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def timed(db: Database, run: Callable[[Session, str], object], texts: Sequence[str]) -> float:
    """p95 in ms of ``run`` per query, each in its own session as `/crm kb` does."""
    spent = []
    for query in texts:
        start = time.perf_counter()
        with db.session() as session:
            run(session, query)
        spent.append((time.perf_counter() - start) * 1000)
    return p95(spent)


def search_ids(session: Session, query: str) -> list[int]:
    return [r.entry.id or 0 for r in knowledge.search(session, query, NOW, limit=10)]


def agreement(db: Database, corpus: Corpus, texts: Sequence[str]) -> float:
    """Share of ``texts`` whose top 10 equals the exhaustive ranking's."""
    same = 0
    for query in texts:
        exhaustive = [r.entry.id or 0 for r in corpus.rank(query, NOW)[:10]]
        with db.session() as session:
            same += search_ids(session, query) == exhaustive
    return same / len(texts)


# The implementation this replaced (handlers/suggest/knowledge.py before 0015), verbatim in
# substance: TF-IDF cosine x votes x recency over the newest 5,000 entries, in Python.
_OLD_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _old_tokens(text: str) -> list[str]:
    return [t for t in _OLD_TOKEN.findall(text.lower()) if t not in STOPWORDS and len(t) > 1]


def _old_weigh(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {term: (1 + math.log(tf)) * idf.get(term, 1.0) for term, tf in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def before_search(session: Session, query: str) -> list[int]:
    pool = session.exec(
        select(KnowledgeEntry).order_by(col(KnowledgeEntry.created_at).desc()).limit(5000)
    ).all()
    docs = [_old_tokens(f"{e.question} {e.text}") for e in pool]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    idf = {t: math.log((1 + len(docs)) / (1 + c)) + 1.0 for t, c in df.items()}
    q = _old_weigh(Counter(_old_tokens(query)), idf)
    scored = []
    for entry, doc in zip(pool, docs, strict=True):
        vector = _old_weigh(Counter(doc), idf)
        sim = sum(w * vector.get(t, 0.0) for t, w in q.items())
        if sim > 0:
            factors = knowledge.vote_factor(entry.votes_up, entry.votes_down)
            scored.append((sim * factors * knowledge.recency_factor(entry.created_at, NOW), entry))
    scored.sort(key=lambda s: (-s[0], -(s[1].id or 0)))
    return [e.id or 0 for _, e in scored[:10]]


def measure(db: Database, corpus: Corpus, texts: list[str]) -> tuple[float, float]:
    """(p95 ms over every query, agreement over the first SAMPLE)."""
    for query in texts[:5]:  # warm the caches as a running bot's are
        with db.session() as session:
            search_ids(session, query)
    return timed(db, search_ids, texts), agreement(db, corpus, texts[:SAMPLE])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    size = 10_000 if args.quick else 100_000
    rows = entry_rows(size)
    texts = queries()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/kb.db")
        load(db, rows)
        with db.session() as session:
            entries = list(session.exec(select(KnowledgeEntry).order_by(col(KnowledgeEntry.id))))
        corpus = Corpus.of(entries)
        p95_ms, agreed = measure(db, corpus, texts)
        emit("kb_search_p95_ms", p95_ms, "ms", "<= 20", entries=size)
        emit("kb_search_top10_agreement", agreed, "share", ">= 0.95", sampled=SAMPLE)
        before = timed(db, before_search, texts[:BEFORE_QUERIES])
        emit("kb_search_p95_ms_before", before, "ms", "baseline", queries=BEFORE_QUERIES)
        db.dispose()
    if args.no_postgres:
        return
    with private_pg_schema(PG_URL, "kbbench") as url:
        db = Database(url)
        load(db, rows)
        p95_ms, agreed = measure(db, corpus, texts)
        emit("kb_search_p95_ms_postgres", p95_ms, "ms", "<= 20", entries=size)
        emit("kb_search_top10_agreement_postgres", agreed, "share", ">= 0.95", sampled=SAMPLE)
        db.dispose()


if __name__ == "__main__":
    main()
