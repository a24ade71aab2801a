"""Knowledge-base search through the full-text index (FTS5 on SQLite, tsvector + GIN on
PostgreSQL): the best entries come first, the index follows every write at once (a new,
edited or forgotten entry), ties go to votes then recency, and the answer equals the
exhaustive ranking (the same formula over every entry, ``knowledge.Corpus``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text, update
from sqlmodel import col, select

from handlers.suggest import knowledge
from handlers.suggest.knowledge import Corpus
from storage import kb_search, migrate
from storage.db import Database
from storage.ingest_sql import table
from storage.models import Author
from storage.privacy import erase_author
from storage.suggestions import KnowledgeEntry, add_entry

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def found(db: Database, query: str, limit: int = 10) -> list[str]:
    with db.session() as session:
        return [r.entry.text for r in knowledge.search(session, query, NOW, limit=limit)]


def add(db: Database, text: str, question: str = "", **values: object) -> int:
    values.setdefault("created_at", NOW)
    with db.session() as session:
        entry = add_entry(session, text=text, question=question, **values)
        assert entry.id is not None
        return entry.id


def test_the_best_entries_come_first(db: Database) -> None:
    add(db, "Open Settings > Billing and pick a new billing date.", "can I change my billing date")
    add(db, "Deleted files stay in the trash for 30 days: open Trash, press Restore.")
    add(db, "Our status page shows the sync incident; we will update you.", "sync is down")
    add(db, "The enterprise plan starts at 20 seats; sales will send a quote.")
    assert found(db, "How do I restore a deleted file from the trash?")[0].startswith("Deleted")
    assert found(db, "Could I move my billing date to the 1st?")[0].startswith("Open Settings")
    assert found(db, "quote for the enterprise plan") == [
        "The enterprise plan starts at 20 seats; sales will send a quote."
    ]
    assert found(db, "nothing in common here") == []
    assert found(db, "the and of") == []  # stop words only


def test_new_edited_and_forgotten_entries_are_searchable_at_once(db: Database) -> None:
    assert found(db, "kayak paddle") == []
    entry_id = add(db, "Every kayak ships with a paddle.")
    assert found(db, "kayak paddle") == ["Every kayak ships with a paddle."]

    with db.session() as session:  # edited
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry is not None
        entry.text = "Every canoe ships with a paddle."
        session.add(entry)
    assert found(db, "kayak") == []
    assert found(db, "canoe") == ["Every canoe ships with a paddle."]

    # `crmbot forget`: the author's name is scrubbed from knowledge-base replies
    add(db, "Thanks Jolene Quill, your kayak refund is on its way.", "refund for Jolene Quill")
    with db.session() as session:
        session.add(
            Author(
                platform="twitter",
                handle="jquill",
                display_name="Jolene Quill",
                first_seen=NOW,
                updated_at=NOW,
            )
        )
    assert found(db, "Quill") != []
    with db.transaction() as conn:
        erase_author(conn, "jquill")
    assert found(db, "Quill") == []
    assert found(db, "Jolene") == []
    assert found(db, "refund") != []  # the rest of the reply is still found

    with db.session() as session:  # removed
        session.execute(delete(KnowledgeEntry))
    assert found(db, "canoe") == [] and found(db, "refund") == []


def test_ties_go_to_more_votes_then_the_newer_entry(db: Database) -> None:
    text = "Reset your password under Settings > Security."
    # both above the vote factor's cap, so their scores tie: the one with more votes first
    few = add(db, text, votes_up=9)
    many = add(db, text, votes_up=12)
    # same score and votes (an age below zero counts as new): the newer first
    older = add(db, text + " ", votes_up=0, created_at=NOW + timedelta(minutes=1))
    newer = add(db, text + " ", votes_up=0, created_at=NOW + timedelta(minutes=2))
    with db.session() as session:
        ranked = knowledge.search(session, "reset password", NOW, limit=10)
    assert [r.entry.id for r in ranked] == [many, few, newer, older]
    assert ranked[0].score == ranked[1].score and ranked[2].score == ranked[3].score


def test_votes_and_recency_move_an_entry_up(db: Database) -> None:
    old = add(db, "Export is under Settings > Account.", created_at=NOW - timedelta(days=400))
    new = add(db, "Export sits under Settings > Account.", created_at=NOW)
    assert found(db, "export account", limit=1) == ["Export sits under Settings > Account."]
    with db.session() as session:
        entry = session.get(KnowledgeEntry, old)
        assert entry is not None
        entry.votes_up = 6  # x2.5 outweighs the age (x0.47)
        session.add(entry)
    with db.session() as session:
        assert [r.entry.id for r in knowledge.search(session, "export", NOW)] == [old, new]


WORDS = [
    "refund",
    "sync",
    "login",
    "invoice",
    "photo",
    "album",
    "trash",
    "restore",
    "plan",
    "billing",
    "team",
    "quota",
]


@st.composite
def knowledge_bases(draw: st.DrawFn) -> list[dict[str, object]]:
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
        rows.append(
            {
                "text": " ".join(words),
                "question": " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4))),
                "votes_up": draw(st.integers(0, 6)),
                "votes_down": draw(st.integers(0, 2)),
                "created_at": NOW - timedelta(days=draw(st.integers(0, 700))),
            }
        )
    return rows


def exhaustive(db: Database, query: str, now: datetime = NOW) -> list[tuple[int, float]]:
    with db.session() as session:
        entries = list(session.exec(select(KnowledgeEntry).order_by(col(KnowledgeEntry.id))))
    return [(r.entry.id or 0, round(r.score, 9)) for r in Corpus.of(entries).rank(query, now)]


def searched(db: Database, query: str, limit: int, now: datetime = NOW) -> list[tuple[int, float]]:
    with db.session() as session:
        got = knowledge.search(session, query, now, limit=limit)
    return [(r.entry.id or 0, round(r.score, 9)) for r in got]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=knowledge_bases(),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=5),
    limit=st.integers(1, 10),
    days=st.integers(-400, 400),
)
def test_search_equals_the_exhaustive_ranking(
    db: Database, rows: list[dict[str, object]], query: list[str], limit: int, days: int
) -> None:
    """On both databases, for any top size and a search dated before or after the day
    the postings were computed at (the bound allows for both)."""
    with db.session() as session:
        session.execute(delete(KnowledgeEntry))
        for row in rows:
            add_entry(session, **row)
    words = " ".join(query)
    now = NOW + timedelta(days=days)
    assert searched(db, words, limit, now) == exhaustive(db, words, now)[:limit]


def test_writes_keep_the_postings_exact(db: Database) -> None:
    """Added, approved, voted, edited, deleted and bulk-pruned entries: after each, the
    search still equals the exhaustive ranking, read past the first page of postings."""
    topics = ["refund", "sync", "invoice"]
    with db.session() as session:
        for i in range(300):
            add_entry(
                session,
                text=f"{topics[i % 3]} reply {i} " + "word " * (i % 7),
                question=f"{topics[(i + 1) % 3]} question",
                votes_up=i % 5,
                created_at=NOW - timedelta(days=i * 2),
            )

    def agrees() -> None:
        for query in ("refund", "sync invoice", "refund sync invoice"):
            assert searched(db, query, 10) == exhaustive(db, query)[:10]
            assert searched(db, query, 80) == exhaustive(db, query)[:80]

    agrees()
    with db.session() as session:  # voted on
        old = session.exec(
            select(KnowledgeEntry).where(col(KnowledgeEntry.text).startswith("refund reply 297 "))
        ).one()
        old.votes_up = 12
        session.add(old)
    agrees()
    with db.session() as session:  # edited: its words change
        old.text = "sync reply, was a refund"
        session.add(old)
    agrees()
    with db.session() as session:  # deleted one by one, then pruned in bulk
        session.execute(delete(KnowledgeEntry).where(col(KnowledgeEntry.id) == old.id))
    agrees()
    with db.session() as session:
        cut = NOW - timedelta(days=300)
        session.execute(delete(KnowledgeEntry).where(col(KnowledgeEntry.created_at) < cut))
    agrees()
    with db.session() as session:  # a bulk update outside the store (as `crmbot forget`)
        session.execute(
            update(KnowledgeEntry)
            .where(col(KnowledgeEntry.text).startswith("sync"))
            .values(votes_down=3)
        )
    agrees()


def test_migration_0016_builds_the_postings_of_existing_entries(database_url: str) -> None:
    """The backfill (SQL over FTS5's words on SQLite, over the tsvector on PostgreSQL)
    gives the postings and word counts the write path gives the same entries, and the
    search over them equals the exhaustive ranking."""
    db = Database(database_url)
    migrate.upgrade(db, "0015")
    rows = [
        {
            "text": f"{WORDS[i % 12]} {WORDS[(i * 5) % 12]} reply {i} É{i % 3}",
            "question": f"{WORDS[(i * 7) % 12]} and {WORDS[i % 12]}?",
            "origin": "reply",
            "votes_up": i % 4,
            "votes_down": i % 3 == 0,
            "created_at": NOW - timedelta(days=i * 3, hours=i),
        }
        for i in range(120)
    ]
    with db.transaction() as conn:
        conn.execute(table(KnowledgeEntry).insert(), rows)
    migrate.upgrade(db)

    def postings() -> tuple[list[tuple[int, str, int, int]], list[float], list[tuple[str, int]]]:
        with db.transaction() as conn:
            found = conn.execute(
                text("SELECT entry_id, term, tf, dl, impact FROM kb_posting ORDER BY 1, 2")
            ).all()
            terms = conn.execute(
                text("SELECT term, docs FROM kb_term WHERE term <> '' ORDER BY term")
            ).all()
        return (
            [(int(e), str(t), int(f), int(d)) for e, t, f, d, _ in found],
            [float(r[4]) for r in found],
            [(str(t), int(n)) for t, n in terms],
        )

    built, built_impacts, built_terms = postings()
    assert len(built) > 600 and built_terms
    for query in ("refund sync", "photo album quota", "é1 login"):
        assert searched(db, query, 10) == exhaustive(db, query)[:10]
    with db.transaction() as conn:  # every entry rewritten through the write path
        if db.is_sqlite:
            conn.execute(text("INSERT INTO kb_posting_stale (entry_id) SELECT id FROM kb_entry"))
            kb_search.refresh(conn)
        else:
            conn.execute(
                update(table(KnowledgeEntry)).values(votes_up=table(KnowledgeEntry).c.votes_up)
            )
    rebuilt, rebuilt_impacts, rebuilt_terms = postings()
    assert rebuilt == built and rebuilt_terms == built_terms
    assert rebuilt_impacts == pytest.approx(built_impacts, rel=1e-9)
    db.dispose()
