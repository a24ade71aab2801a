"""Drafts without a model: the best approved reply for the mention, else a template.

Each offline draft says so in its label, so nobody takes it for the model's work; when a
model answer was unusable the label also says why ("the model's answer was malformed").
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.suggest.knowledge import Ranked
from handlers.suggest.limits import fit
from handlers.suggest.prompt import SuggestionInput
from prompts import load_prompt

KB_LABEL = "offline suggestion from the knowledge base"
TEMPLATE_LABEL = "offline suggestion from a template"
MIN_SIMILARITY = 0.25  # below this an approved reply is about something else
ANGRY = -0.6


@dataclass(frozen=True, slots=True)
class Draft:
    """A suggested reply, ready to store and show."""

    text: str
    tone: str
    confidence: float
    needs_human: bool
    reason: str
    origin: str  # llm | kb | template
    label: str
    model: str | None = None
    kb_entry_ids: tuple[int, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


def templates() -> dict[str, str]:
    """``prompts/offline_templates.md`` by section (``## negative`` ...)."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in load_prompt("offline_templates").splitlines():
        if line.startswith("## "):
            current = line[3:].strip().lower()
            sections[current] = ""
        elif current is not None and line.strip():
            sections[current] = (sections[current] + " " + line.strip()).strip()
    return sections


def _human(data: SuggestionInput) -> tuple[bool, str]:
    if data.severity == "critical":
        return True, "critical severity"
    if data.sentiment <= ANGRY:
        return True, "very negative sentiment"
    return False, ""


def offline_draft(
    data: SuggestionInput, ranked: list[Ranked], limit: int, why: str | None = None
) -> Draft:
    """The top approved reply when it is similar enough, else the template for the mood.
    ``why`` (e.g. "the model timed out") is put in front of the label."""
    needs_human, reason = _human(data)
    prefix = f"{why}; " if why else ""
    handle = f"@{data.author_handle}" if data.author_handle else "there"
    best = ranked[0] if ranked else None
    if best is not None and best.similarity >= MIN_SIMILARITY and best.entry.id is not None:
        return Draft(
            text=fit(best.entry.text.replace("{handle}", handle), limit),
            tone="neutral",
            confidence=round(min(0.9, best.similarity), 2),
            needs_human=needs_human,
            reason=reason,
            origin="kb",
            label=prefix + KB_LABEL,
            kb_entry_ids=tuple(r.entry.id for r in ranked[:3] if r.entry.id is not None),
        )
    mood = "crm" if data.kind == "crm" else data.sentiment_label
    if mood == "positive" and "?" in data.mention:
        mood = "neutral"  # a friendly question wants an answer, not thanks
    chosen = templates().get(mood) or templates().get("neutral") or "Thanks for reaching out!"
    return Draft(
        text=fit(chosen.replace("{handle}", handle), limit),
        tone="empathetic" if mood == "negative" else "friendly",
        confidence=0.2,
        needs_human=needs_human,
        reason=reason,
        origin="template",
        label=prefix + TEMPLATE_LABEL,
    )
