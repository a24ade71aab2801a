"""Suggested replies and the knowledge base of approved replies that grounds them.

``kb_entry`` holds replies staff sent or approved (and seeded examples); its vote counts
rank it. ``suggestion`` is one drafted reply for a conversation, with where it came from,
its votes, whether it was used, and the model's token usage. ``suggestion_vote`` keeps one
vote per staff member per suggestion, so a changed mind moves the counts, not adds to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from storage import kb_search
from storage.types import UTCDateTime


class KnowledgeEntry(SQLModel, table=True):
    """An approved reply: what was asked (``question``) and what the team answered."""

    __tablename__ = "kb_entry"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    question: str = ""
    platform: str | None = None
    origin: str = "reply"  # reply | approved | seed
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    votes_up: int = 0
    votes_down: int = 0
    created_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False, index=True)


class Suggestion(SQLModel, table=True):
    """One drafted reply for a conversation; ``origin`` says who drafted it."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    cycle: int = 1
    text: str
    tone: str = "neutral"
    confidence: float = 0.0
    needs_human: bool = False
    human_reason: str = ""
    origin: str = "llm"  # llm | kb | template
    label: str = ""  # shown with the card, e.g. "offline suggestion from the knowledge base"
    model: str | None = None
    kb_entry_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    votes_up: int = 0
    votes_down: int = 0
    used_by: int | None = Field(default=None, foreign_key="staff.id")
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    created_at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)


class SuggestionVote(SQLModel, table=True):
    """A staff member's vote (+1 or -1) on a suggestion."""

    __tablename__ = "suggestion_vote"
    __table_args__ = (UniqueConstraint("suggestion_id", "staff_id"),)

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestion.id")
    staff_id: int = Field(foreign_key="staff.id")
    value: int
    at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False)


def add_entry(session: Session, **values: Any) -> KnowledgeEntry:
    """Store an approved reply (flushed, so it has its id, and in the search postings)."""
    entry = KnowledgeEntry(**values)
    session.add(entry)
    session.flush()
    kb_search.refresh(session.connection())
    return entry


def entry_with_text(session: Session, text: str) -> KnowledgeEntry | None:
    """The entry whose reply is exactly ``text`` (the knowledge base keeps one of each)."""
    return session.exec(select(KnowledgeEntry).where(KnowledgeEntry.text == text)).first()


def recent_entries(session: Session, limit: int = 5000) -> list[KnowledgeEntry]:
    """The newest entries, the pool that similarity ranks."""
    query = select(KnowledgeEntry).order_by(col(KnowledgeEntry.created_at).desc()).limit(limit)
    return list(session.exec(query))


def latest_for(session: Session, conversation_id: int) -> Suggestion | None:
    """The conversation's newest suggestion."""
    query = (
        select(Suggestion)
        .where(Suggestion.conversation_id == conversation_id)
        .order_by(col(Suggestion.id).desc())
    )
    return session.exec(query).first()


def set_vote(
    session: Session, suggestion: Suggestion, staff_id: int, value: int, at: datetime
) -> int:
    """Record ``value`` (+1/-1) as this staff member's vote; returns the previous one (0: none).

    The suggestion's counts and those of the knowledge-base entries it was grounded on move
    by the difference, so voting twice the same way changes nothing.
    """
    assert suggestion.id is not None
    vote = session.exec(
        select(SuggestionVote).where(
            SuggestionVote.suggestion_id == suggestion.id, SuggestionVote.staff_id == staff_id
        )
    ).first()
    previous = vote.value if vote is not None else 0
    if previous == value:
        return previous
    if vote is None:
        vote = SuggestionVote(suggestion_id=suggestion.id, staff_id=staff_id, value=value, at=at)
    vote.value, vote.at = value, at
    session.add(vote)
    up = (value > 0) - (previous > 0)
    down = (value < 0) - (previous < 0)
    suggestion.votes_up += up
    suggestion.votes_down += down
    session.add(suggestion)
    for entry_id in suggestion.kb_entry_ids[:1]:  # the entry it mainly rests on
        entry = session.get(KnowledgeEntry, entry_id)
        if entry is not None:
            entry.votes_up += up
            entry.votes_down += down
            session.add(entry)
    return previous
