"""What a message is (complaint, praise, question, buying signal, outage report, CRM ticket,
or other), so its draft answers the right thing.

Pure and offline. A CRM event is decided by its kind (a ticket is a ticket; a lead or an
open deal is a buying signal). A mention is scored per intent from the cue lists in
``prompts/intent_cues.toml`` (strong cues and sentence openers count 2, others 1), a star
rating, a question mark and the sentiment score the mention already carries. The highest
score wins (ties by the file's order) unless an intent that dominates it scored at least
``dominance`` (a question about prices is a buying signal); a message reaching no intent's
``minimum`` is "other".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

from prompts import load_file

CUES_FILE = "intent_cues.toml"
HANDLE = re.compile(
    r"(?<!\w)(?:@|u/)[\w.-]+(?:@[\w.-]+)?|https?://\S+|\S+\.(?:example|com|org)/\S*"
)
SENTENCE_START = r"(?:^|(?<=[.!?¿¡:;,\n]))\s*"
STARS = re.compile(
    r"([★]{1,5})[☆]*|(?<![\d.])([1-5])\s*(?:/\s*5|stars?|sterne?|étoiles?|estrellas?)\b"
)


class Intent(StrEnum):
    """What a message is."""

    COMPLAINT = "complaint"
    PRAISE = "praise"
    QUESTION = "question"
    BUYING = "buying"
    OUTAGE = "outage"
    CRM_TICKET = "crm_ticket"
    OTHER = "other"


DESCRIPTIONS: Mapping[Intent, str] = {
    Intent.COMPLAINT: "a complaint",
    Intent.PRAISE: "praise",
    Intent.QUESTION: "a question",
    Intent.BUYING: "a buying signal",
    Intent.OUTAGE: "an outage report",
    Intent.CRM_TICKET: "a CRM support ticket",
    Intent.OTHER: "other chatter",
}


def _pattern(
    cues: Iterable[str], *, at_start: bool = False, raw: Iterable[str] = ()
) -> re.Pattern[str] | None:
    """One regex for a cue list: each cue at a word start (``at_start``: at the start of a
    sentence), ``*`` for a longer word; ``raw`` regexes are added as they are."""
    parts = []
    for cue in sorted({c.lower() for c in cues}, key=len, reverse=True):
        if cue.endswith("*"):
            parts.append(re.escape(cue[:-1]) + r"\w*")
        else:
            parts.append(re.escape(cue) + r"(?!\w)")
    parts += [f"(?:{r})" for r in raw]
    if not parts:
        return None
    lead = SENTENCE_START if at_start else r"(?<!\w)"
    return re.compile(lead + "(?:" + "|".join(parts) + ")")


@dataclass(frozen=True, slots=True)
class Cues:
    """The cue lists and weights of ``prompts/intent_cues.toml``, compiled."""

    neutral: re.Pattern[str] | None
    strong: dict[Intent, re.Pattern[str] | None]
    weak: dict[Intent, re.Pattern[str] | None]
    starts: dict[Intent, re.Pattern[str] | None]
    dominates: dict[Intent, frozenset[Intent]]
    forbidden: dict[Intent, re.Pattern[str] | None]
    order: tuple[Intent, ...]
    ticket_kinds: frozenset[str]
    buying_kinds: frozenset[str]
    closed: re.Pattern[str] | None
    scores: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Cues:
        """From the TOML data; an unknown intent name is an error."""
        intents = data.get("intents", {})
        forbidden = data.get("forbidden", {})
        crm = data.get("crm", {})
        names = [*intents, *forbidden, *data.get("order", {}).get("intents", [])]
        for name in [*names, *data.get("dominates", {})]:
            Intent(name)  # raises ValueError for a typo
        return cls(
            neutral=_pattern(data.get("neutral", [])),
            strong={
                Intent(k): _pattern(v.get("strong", []), raw=v.get("patterns", []))
                for k, v in intents.items()
            },
            weak={Intent(k): _pattern(v.get("cues", [])) for k, v in intents.items()},
            starts={
                Intent(k): _pattern(v.get("starts", []), at_start=True) for k, v in intents.items()
            },
            dominates={
                Intent(k): frozenset(Intent(n) for n in v)
                for k, v in data.get("dominates", {}).items()
            },
            forbidden={Intent(k): _pattern(v) for k, v in forbidden.items()},
            order=tuple(Intent(n) for n in data.get("order", {}).get("intents", [])),
            ticket_kinds=frozenset(crm.get("ticket_kinds", [])),
            buying_kinds=frozenset(crm.get("buying_kinds", [])),
            closed=_pattern(crm.get("closed", [])),
            scores={k: float(v) for k, v in data.get("scores", {}).items()},
        )


@cache
def cues() -> Cues:
    """The cue file, read once."""
    return Cues.parse(tomllib.loads(load_file(CUES_FILE)))


def star_rating(text: str) -> int | None:
    """The rating of a review ("★★★★☆", "4/5", "5 stars"), or None."""
    match = STARS.search(text)
    if match is None:
        return None
    return len(match.group(1)) if match.group(1) else int(match.group(2))


def scores(text: str, sentiment: float = 0.0, table: Cues | None = None) -> dict[Intent, float]:
    """Each mention intent's score for ``text``."""
    table = table or cues()
    weights = table.scores
    lowered = HANDLE.sub(" ", text.lower())
    result = {intent: 0.0 for intent in table.order}
    neutral_hits = table.neutral.findall(lowered) if table.neutral else []
    if table.neutral is not None:
        for intent in result:  # a neutral phrase still counts for the intent listing it
            strong = table.strong.get(intent)
            result[intent] += 2.0 * sum(1 for h in neutral_hits if strong and strong.fullmatch(h))
        lowered = table.neutral.sub(" ", lowered)
    for intent in result:
        patterns = (
            (table.strong.get(intent), 2.0),
            (table.starts.get(intent), 2.0),
            (table.weak.get(intent), 1.0),
        )
        for pattern, weight in patterns:
            if pattern is not None:
                result[intent] += weight * len(set(pattern.findall(lowered)))
    if "?" in text or "¿" in text:
        result[Intent.QUESTION] += weights.get("question_mark", 1.0)
    rating = star_rating(text)
    if rating is not None and rating != 3:
        winner = Intent.PRAISE if rating >= 4 else Intent.COMPLAINT
        result[winner] += weights.get("star_rating", 3.0)
    if sentiment >= weights.get("positive_sentiment", 0.5):
        result[Intent.PRAISE] += weights.get("sentiment_weight", 1.0)
    elif sentiment <= weights.get("negative_sentiment", -0.4):
        result[Intent.COMPLAINT] += weights.get("sentiment_weight", 1.0)
    return result


def _crm_intent(text: str, crm_kind: str | None, table: Cues) -> Intent:
    kind = (crm_kind or "").lower()
    if kind in table.ticket_kinds:
        return Intent.CRM_TICKET
    if kind in table.buying_kinds:
        closed = table.closed is not None and table.closed.search(text.lower())
        return Intent.OTHER if closed else Intent.BUYING
    return Intent.OTHER


def classify(
    text: str,
    *,
    source_kind: str = "mention",
    crm_kind: str | None = None,
    sentiment: float = 0.0,
) -> Intent:
    """What ``text`` is. ``source_kind`` is "mention" or "crm" (then ``crm_kind`` is the
    CRM event's kind, e.g. "ticket_created"); ``sentiment`` is the score in [-1, 1]."""
    table = cues()
    if source_kind == "crm":
        return _crm_intent(text, crm_kind, table)
    found = scores(text, sentiment, table)
    best = max(table.order, key=lambda intent: (found[intent], -table.order.index(intent)))
    if found[best] < table.scores.get("minimum", 1.0):
        return Intent.OTHER
    strong_enough = table.scores.get("dominance", 2.0)
    for intent in table.order:  # a priced question is a buying signal, and so on
        if best in table.dominates.get(intent, ()) and found[intent] >= strong_enough:
            return intent
    return best


@lru_cache(maxsize=50_000)
def classify_text(text: str) -> Intent:
    """:func:`classify` of a mention with no sentiment known, cached (knowledge-base
    entries are classified by the message they answered, on every search)."""
    return classify(text)


def allows(intent: Intent, reply: str) -> bool:
    """False when ``reply`` says what a reply to ``intent`` must not (thanks to a complaint,
    an apology for praise)."""
    pattern = cues().forbidden.get(intent)
    return pattern is None or pattern.search(reply.lower()) is None
