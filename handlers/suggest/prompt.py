"""The model's messages and its answer.

The system message is ``prompts/suggest_reply.md`` (with ``prompts/classify.md``) filled
with the brand voice, rules and platform limit from ``[suggestions]``. The user message
holds the CRM context, approved replies, and the conversation, with everything written
by outsiders inside ``<untrusted_...>`` tags. Every part is redacted first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.config_suggestions import SuggestionsConfig
from handlers.suggest.intent import DESCRIPTIONS, Intent
from handlers.suggest.redact import redact
from prompts import load_prompt

Tone = Literal["empathetic", "apologetic", "informative", "grateful", "friendly", "neutral"]
UNTRUSTED_TAG = re.compile(r"</?\s*untrusted_[a-z]*\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SuggestionInput:
    """What the draft is about, read from the database (nothing redacted yet)."""

    conversation_id: int
    cycle: int
    platform: str
    kind: str  # mention | crm
    severity: str
    sentiment: float
    sentiment_label: str
    mention: str  # the newest message, the one to answer
    history: tuple[tuple[str, str], ...] = ()  # (who, text), oldest first, before ``mention``
    author_handle: str | None = None
    author_name: str | None = None
    followers: int = 0
    crm_context: str | None = None  # contact, company, lifecycle, deal
    intent: str = "other"  # what the message is (handlers/suggest/intent.py)
    crm_kind: str | None = None  # the CRM event's kind when the message is one


class DraftAnswer(BaseModel):
    """The model's answer, validated."""

    model_config = ConfigDict(extra="ignore")

    reply: str = Field(min_length=1)
    tone: Tone = "neutral"
    confidence: float = Field(0.5, ge=0, le=1)
    needs_human: bool = False
    reason: str = ""


class MalformedAnswer(ValueError):
    """The model's answer is not the JSON object asked for."""


def parse_answer(content: str) -> DraftAnswer:
    """The answer as a DraftAnswer; a fenced or chatty JSON answer is accepted, anything
    else raises MalformedAnswer."""
    text = content.strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise MalformedAnswer("no JSON object in the answer")
    try:
        data = json.loads(text[start : end + 1])
        answer = DraftAnswer.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise MalformedAnswer(f"invalid answer: {type(exc).__name__}") from None
    if not answer.reply.strip():
        raise MalformedAnswer("empty reply")
    return answer


def _describe(intent: str) -> str:
    try:
        return DESCRIPTIONS[Intent(intent)]
    except ValueError:
        return "unknown"


def _untrusted(text: str) -> str:
    """Redacted outsider text that cannot close its own delimiter."""
    return UNTRUSTED_TAG.sub("", redact(text)).strip()


def system_message(config: SuggestionsConfig, platform: str) -> str:
    rules = "\n".join(f"- {rule}" for rule in config.rules) or "- (none)"
    values = {
        "brand_voice": config.brand_voice,
        "rules": rules,
        "platform": platform,
        "limit": str(config.limit_for(platform)),
        "classify": load_prompt("classify").strip(),
    }
    text = load_prompt("suggest_reply")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text.strip()


def user_message(data: SuggestionInput, examples: list[tuple[str, str]]) -> str:
    """Context, approved replies (question, reply) and the delimited conversation."""
    who = f"@{data.author_handle}" if data.author_handle else (data.author_name or "unknown")
    lines = [
        "## Context",
        f"- platform: {data.platform}",
        f"- author: {redact(who)}"
        + (f" ({redact(data.author_name)})" if data.author_name and data.author_handle else "")
        + f", {data.followers} followers",
        f"- sentiment: {data.sentiment_label} ({data.sentiment:+.2f}); severity: {data.severity}",
        f"- intent: {data.intent} ({_describe(data.intent)})"
        + (f"; CRM event: {data.crm_kind}" if data.crm_kind else ""),
        f"- CRM: {redact(data.crm_context) if data.crm_context else 'no CRM contact known'}",
        "",
        "## Approved replies to similar messages",
    ]
    if examples:
        for i, (question, reply) in enumerate(examples, 1):
            lines.append(f"{i}. message: {redact(question) or '(not recorded)'}")
            lines.append(f"   reply: {redact(reply)}")
    else:
        lines.append("(none found)")
    lines += ["", "## Conversation so far", "<untrusted_conversation>"]
    lines += [f"{_untrusted(author)}: {_untrusted(text)}" for author, text in data.history]
    if not data.history:
        lines.append("(this is the first message)")
    lines += [
        "</untrusted_conversation>",
        "",
        "## Message to answer",
        "<untrusted_mention>",
        _untrusted(data.mention),
        "</untrusted_mention>",
    ]
    return "\n".join(lines)


def build_messages(
    config: SuggestionsConfig, data: SuggestionInput, examples: list[tuple[str, str]]
) -> list[dict[str, str]]:
    """The chat messages for one draft."""
    return [
        {"role": "system", "content": system_message(config, data.platform)},
        {"role": "user", "content": user_message(data, examples)},
    ]
