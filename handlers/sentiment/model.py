"""Re-labelling with a model, after ingest and off the alert path.

Ingest labels every mention offline at once, so rules and alerts never wait. When
``[sentiment] model`` is set and a model is available (``OPENAI_API_KEY``), a background
task sends the mentions still labelled offline to the model in batches, each request
bounded by ``[sentiment] timeout``. What the model says replaces the offline label and
records the model's name; a timeout, an error or a malformed answer keeps the offline
label (the labeller stays ``offline``). A conversation whose label changes has its alert
redrawn (:mod:`handlers.sentiment.cards`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError

from handlers.background import BackgroundRun
from handlers.context import BotContext
from handlers.sentiment.cards import restate, sets_mood
from handlers.sentiment.labels import LABELS, label
from handlers.suggest.redact import redact
from prompts import load_prompt
from storage import sentiment as store

log = logging.getLogger(__name__)

RELABEL_WINDOW = timedelta(hours=1)  # older offline labels are left as they are
MESSAGE_LIMIT = 2000  # characters of one message sent to the model
_TAG = re.compile(r"</?message[^>]*>", re.IGNORECASE)


class ModelUnavailable(Exception):
    """The model could not answer; ``reason`` is short and safe to log ("timed out")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedLabels(ValueError):
    """The model's answer is not the labels asked for."""


class LabelModel(Protocol):
    """A chat-completions model (bot/llm_sentiment.py implements it with the openai client)."""

    async def complete(
        self, messages: Sequence[dict[str, str]], *, model: str, request_timeout: float
    ) -> str:
        """The answer's text; raises ModelUnavailable."""
        ...


class _Label(BaseModel):
    id: int
    label: str = Field(pattern="^(negative|neutral|positive)$")
    score: float = Field(ge=-1, le=1)


class _Answer(BaseModel):
    labels: list[_Label]


def build_messages(texts: Sequence[tuple[int, str]]) -> list[dict[str, str]]:
    """The system prompt and one user message with the redacted, delimited texts."""
    body = "\n".join(
        f'<message id="{n}">\n{_TAG.sub("", redact(text))[:MESSAGE_LIMIT].strip()}\n</message>'
        for n, text in texts
    )
    return [
        {"role": "system", "content": load_prompt("sentiment").strip()},
        {"role": "user", "content": body},
    ]


def parse_labels(content: str, ids: Sequence[int]) -> dict[int, float]:
    """id -> score agreeing with the model's label, for every id asked; raises
    MalformedLabels when the answer is not JSON labels for exactly those ids."""
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end <= start:
        raise MalformedLabels("no JSON object in the answer")
    try:
        answer = _Answer.model_validate(json.loads(content[start : end + 1]))
    except (ValueError, ValidationError) as exc:
        raise MalformedLabels(f"invalid answer: {type(exc).__name__}") from None
    found = {item.id: banded(item.label, item.score) for item in answer.labels}
    if set(found) != set(ids):
        raise MalformedLabels("the answer does not label exactly the messages asked")
    return found


def banded(name: str, score: float) -> float:
    """The model's score, moved into its label's band when the two disagree."""
    if name not in LABELS:
        raise MalformedLabels(f"unknown label {name!r}")
    if label(score) == name:
        return round(score, 4)
    return {"negative": -0.5, "neutral": 0.0, "positive": 0.5}[name]


class Relabeller(BackgroundRun):
    """Runs model re-labelling in the background; at most one run at a time."""

    what = "re-labelling sentiment"

    def __init__(self, ctx: BotContext, model: LabelModel | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.model = model
        self._after_id = 0

    @property
    def enabled(self) -> bool:
        return self.model is not None and self.ctx.config.sentiment.model is not None

    async def run(self) -> int:
        """Re-label every waiting mention, batch by batch; returns how many the model labelled."""
        labelled = 0
        while self.enabled:
            config = self.ctx.config.sentiment
            since = self.ctx.clock.now() - RELABEL_WINDOW
            with self.ctx.db.transaction() as conn:
                batch = store.pending(conn, self._after_id, since, config.batch_size)
            if not batch:
                break
            self._after_id = batch[-1].id
            scores = await self._ask([(m.id, m.text) for m in batch])
            if scores is not None:
                self._store(scores, str(config.model))
                labelled += len(scores)
        return labelled

    async def _ask(self, texts: list[tuple[int, str]]) -> dict[int, float] | None:
        config = self.ctx.config.sentiment
        assert self.model is not None and config.model is not None
        try:
            content = await asyncio.wait_for(
                self.model.complete(
                    build_messages(texts), model=config.model, request_timeout=config.timeout
                ),
                timeout=config.timeout + 1,
            )
            return parse_labels(content, [n for n, _ in texts])
        except ModelUnavailable as exc:
            reason = exc.reason
        except TimeoutError:
            reason = "the model timed out"
        except MalformedLabels as exc:
            reason = f"malformed answer ({exc})"
        log.warning("sentiment of %d mentions stays offline: %s", len(texts), reason)
        return None

    def _store(self, scores: dict[int, float], model: str) -> None:
        with self.ctx.db.session() as session:
            conn = session.connection()
            store.relabel_mentions(conn, [(i, s, model) for i, s in scores.items()])
            leads = store.conversations_led_by(conn, list(scores))
            shown = store.conversation_sentiments(conn, list(leads.values()))
            values = [
                (conv, scores[m], model)
                for m, conv in leads.items()
                if sets_mood(scores[m], shown.get(conv, 0.0))
            ]
            store.set_conversation_sentiment(conn, values)
            changed = {
                conv: (score, by)
                for conv, score, by in values
                if label(score) != label(shown.get(conv, 0.0))
            }
            redraws = restate(conn, changed) if changed else []
            for card, channels in redraws:
                self.ctx.queue(session, card, channels)
        if redraws:
            self.ctx.on_queued()
