"""Ingest stage 3, threading and routing: which conversation each event belongs to.

An event continues the open conversation of its thread key (or reopens the one resolved
within ``alerts.reopen_window``); otherwise the rules decide whether it opens a new one,
and where its alert goes. A conversation's sentiment follows its author's latest mention
when that sets a new mood.
"""

from __future__ import annotations

from datetime import datetime

from handlers.events import Mention
from handlers.ingest_items import Conv, IngestResult, Item
from handlers.routing import decide
from handlers.rules import Ruleset, subject_of
from handlers.sentiment import OFFLINE, label
from handlers.sentiment.cards import sets_mood
from storage.ingest_rows import FoundConversation


def thread(
    ruleset: Ruleset,
    items: list[Item],
    results: list[IngestResult],
    now: datetime,
    found: dict[str, FoundConversation],
) -> None:
    """Set each item's conversation (``conv``), and ``opens``/``reopens``; an event no
    rule routes and no conversation continues is counted unrouted. ``found`` holds the
    conversations the thread keys continue (storage/ingest_lookup.py)."""
    keys = {i.event.thread_key for i in items}
    convs: dict[str, Conv] = {
        key: Conv(
            id=row.id,
            key=key,
            cycle=row.cycle,
            channels=list(row.channels),
            mention_count=row.mention_count,
            source=row.source,
            severity=row.severity,
            team=row.team,
            status=row.status,
            sentiment=row.sentiment,
            sentiment_by=row.sentiment_by,
            author_id=row.author_id,
            shown=label(row.sentiment),
        )
        for key, row in found.items()
        if key in keys
    }
    for item in items:
        key = item.event.thread_key
        conv = convs.get(key)
        if conv is not None and conv.status == "resolved":
            conv.status = "open"
            conv.cycle += 1
            item.reopens = True
        if conv is None:
            decision = decide(ruleset, subject_of(item.event, item.sentiment))
            if decision is None:
                results[item.owner].unrouted += 1
                continue
            conv = Conv(
                id=None,
                key=key,
                cycle=1,
                channels=list(decision.channels),
                mention_count=0,
                source=item.event.source,
                severity=decision.severity,
                team=decision.team,
                status="open",
                new=True,
                author_id=item.author_id,
            )
            convs[key] = conv
            item.opens = decision
        conv.touched = True
        conv.mention_count += 1
        conv.last_at = now
        if conv.new or (
            isinstance(item.event, Mention)
            and item.author_id == conv.author_id
            and sets_mood(item.sentiment, conv.sentiment)
        ):
            conv.sentiment, conv.sentiment_by = item.sentiment, OFFLINE
        item.conv = conv
