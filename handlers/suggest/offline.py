"""Drafts without a model: an approved reply of the message's intent, else the intent's template.

The draft answers what the message is (``handlers/suggest/intent.py``): a knowledge-base
entry counts only when it answered a message of the same intent, says nothing that intent
forbids (no thanks for a complaint), and is similar enough; otherwise the intent's
template (``prompts/offline_templates.md``) says less rather than something wrong. Each
offline draft says so in its label, with the intent, so nobody takes it for the model's
work; when a model answer was unusable the label also says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from handlers.suggest.intent import DESCRIPTIONS, Intent, allows
from handlers.suggest.knowledge import Ranked, entry_intent, render
from handlers.suggest.limits import fit
from handlers.suggest.prompt import SuggestionInput
from prompts import load_prompt

KB_LABEL = "offline suggestion from the knowledge base"
TEMPLATE_LABEL = "offline suggestion from a template"
MIN_SIMILARITY = 0.35  # below this an approved reply is about something else (knowledge.similarity)
NO_KNOWLEDGE_BASE = frozenset({Intent.OTHER, Intent.CRM_TICKET})  # the template says enough
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
    intent: str = Intent.OTHER.value  # what the draft answers (the template or entry chosen)
    model: str | None = None
    kb_entry_ids: tuple[int, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Template:
    """An intent's offline reply and the tone it takes."""

    text: str
    tone: str


@cache
def templates() -> dict[str, Template]:
    """``prompts/offline_templates.md`` by section (``## complaint`` ...)."""
    sections: dict[str, list[str]] = {}
    tones: dict[str, str] = {}
    current: str | None = None
    for line in load_prompt("offline_templates").splitlines():
        if line.startswith("## "):
            current = line[3:].strip().lower()
            sections[current] = []
        elif current is not None and line.startswith("tone:"):
            tones[current] = line.removeprefix("tone:").strip()
        elif current is not None and line.strip():
            sections[current].append(line.strip())
    return {
        name: Template(" ".join(lines), tones.get(name, "neutral"))
        for name, lines in sections.items()
    }


def template_for(intent: Intent) -> Template:
    """The intent's template; a missing section is a clear error (the file is data we ship)."""
    found = templates().get(intent.value)
    if found is None:
        raise LookupError(f"prompts/offline_templates.md has no section ## {intent.value}")
    return found


def fitting(intent: Intent, ranked: list[Ranked]) -> list[Ranked]:
    """The approved replies a draft for ``intent`` may rest on, best first."""
    if intent in NO_KNOWLEDGE_BASE:
        return []
    return [
        r
        for r in ranked
        if r.similarity >= MIN_SIMILARITY
        and r.entry.id is not None
        and entry_intent(r.entry) is intent
        and allows(intent, r.entry.text)
    ]


def _human(data: SuggestionInput) -> tuple[bool, str]:
    if data.severity == "critical":
        return True, "critical severity"
    if data.sentiment <= ANGRY:
        return True, "very negative sentiment"
    return False, ""


def offline_draft(
    data: SuggestionInput, ranked: list[Ranked], limit: int, why: str | None = None
) -> Draft:
    """The best approved reply of the message's intent when it fits well enough, else the
    intent's template. ``why`` (e.g. "the model timed out") is put in front of the label."""
    needs_human, reason = _human(data)
    intent = Intent(data.intent)
    prefix = f"{why}; " if why else ""
    suffix = f", for {DESCRIPTIONS[intent]}"
    handle = f"@{data.author_handle}" if data.author_handle else "there"
    template = template_for(intent)
    usable = fitting(intent, ranked)
    if usable:
        best = usable[0]
        return Draft(
            text=fit(render(best.entry.text, handle), limit),
            tone=template.tone,
            confidence=round(min(0.9, best.similarity), 2),
            needs_human=needs_human,
            reason=reason,
            origin="kb",
            label=prefix + KB_LABEL + suffix,
            intent=intent.value,
            kb_entry_ids=tuple(r.entry.id for r in usable[:3] if r.entry.id is not None),
        )
    return Draft(
        text=fit(render(template.text, handle), limit),
        tone=template.tone,
        confidence=0.2,
        needs_human=needs_human,
        reason=reason,
        origin="template",
        label=prefix + TEMPLATE_LABEL + suffix,
        intent=intent.value,
    )
