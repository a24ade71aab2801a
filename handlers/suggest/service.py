"""Drafting a suggested reply after an alert, off the alert's path.

When the dispatcher has posted an alert it calls :meth:`SuggestionService.after_alert`,
which only schedules a background task. The task reads the conversation, ranks the
knowledge base, asks the model (bounded by ``[suggestions] timeout`` and ``max_retries``)
or drafts offline, stores the suggestion and queues a :class:`SuggestionCard` through the
outbox; the dispatcher threads it under the alert it follows. Any failure of the model
becomes a labelled offline suggestion; a failure of the task itself is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from handlers.cards import SuggestionCard
from handlers.config_suggestions import SuggestionsConfig
from handlers.context import BotContext
from handlers.reply_modes import conversation_mode
from handlers.suggest import knowledge
from handlers.suggest.gather import suggestion_input
from handlers.suggest.knowledge import Ranked
from handlers.suggest.limits import fit
from handlers.suggest.offline import Draft, offline_draft
from handlers.suggest.prompt import MalformedAnswer, SuggestionInput, build_messages, parse_answer
from storage import conversations
from storage.suggestions import Suggestion

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Completion:
    """What the model answered: content, or a refusal; and the tokens it cost."""

    content: str | None
    refusal: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class DraftError(Exception):
    """The model could not be asked; ``reason`` is short and safe to show ("timed out")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Drafter(Protocol):
    """A chat-completions model (bot/llm.py implements it with the openai client)."""

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        request_timeout: float,
        max_retries: int,
    ) -> Completion: ...


def card_of(
    suggestion: Suggestion, platform: str, limit: int, reply_mode: str = "off"
) -> SuggestionCard:
    """The card showing a stored suggestion; ``reply_mode`` is the conversation's
    (handlers/reply_modes.py): whether Send can publish it."""
    assert suggestion.id is not None
    return SuggestionCard(
        conversation_id=suggestion.conversation_id,
        suggestion_id=suggestion.id,
        text=suggestion.text,
        tone=suggestion.tone,
        confidence=suggestion.confidence,
        needs_human=suggestion.needs_human,
        reason=suggestion.human_reason,
        origin=suggestion.origin,
        label=suggestion.label,
        platform=platform,
        limit=limit,
        reply_mode=reply_mode,
    )


async def draft_reply(
    drafter: Drafter | None,
    config: SuggestionsConfig,
    data: SuggestionInput,
    ranked: list[Ranked],
) -> Draft:
    """A draft from the model, or offline (labelled with why) when it cannot give one."""
    limit = config.limit_for(data.platform)
    if drafter is None:
        return offline_draft(data, ranked, limit)
    handle = f"@{data.author_handle}" if data.author_handle else "there"
    examples = [
        (r.entry.question, knowledge.render(r.entry.text, handle))
        for r in ranked[: config.examples]
    ]
    messages = build_messages(config, data, examples)
    try:
        completion = await drafter.complete(
            messages,
            model=config.model,
            request_timeout=config.timeout,
            max_retries=config.max_retries,
        )
    except DraftError as exc:
        log.warning("suggestion for #%s: %s", data.conversation_id, exc.reason)
        return offline_draft(data, ranked, limit, why=exc.reason)
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.total_tokens,
    }
    if completion.refusal or not completion.content:
        log.warning("suggestion for #%s: the model declined", data.conversation_id)
        why = "the model declined to answer" if completion.refusal else "the model answered nothing"
        return _with_usage(offline_draft(data, ranked, limit, why=why), usage)
    try:
        answer = parse_answer(completion.content)
    except MalformedAnswer as exc:
        log.warning("suggestion for #%s: malformed answer (%s)", data.conversation_id, exc)
        draft = offline_draft(data, ranked, limit, why="the model's answer was malformed")
        return _with_usage(draft, usage)
    return Draft(
        text=fit(answer.reply, limit),
        tone=answer.tone,
        confidence=answer.confidence,
        needs_human=answer.needs_human,
        reason=answer.reason if answer.needs_human else "",
        origin="llm",
        label=f"drafted by {config.model}",
        intent=data.intent,
        model=config.model,
        kb_entry_ids=tuple(r.entry.id for r in ranked[: config.examples] if r.entry.id),
        **usage,
    )


def _with_usage(draft: Draft, usage: dict[str, int]) -> Draft:
    return replace(
        draft,
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        total_tokens=usage["total_tokens"],
    )


class SuggestionService:
    """Schedules drafts in the background and queues their cards."""

    def __init__(self, ctx: BotContext, drafter: Drafter | None = None) -> None:
        self.ctx = ctx
        self.drafter = drafter
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[int | None]] = set()

    @property
    def online(self) -> bool:
        return self.drafter is not None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that runs drafts (requests from other threads are sent to it)."""
        self._loop = loop

    def after_alert(self, conversation_id: int, cycle: int, alerted_at: datetime) -> None:
        """Dispatcher hook: an alert was posted; draft its suggestion in the background."""
        if self.ctx.config.suggestions.enabled:
            self.request(conversation_id)

    def request(self, conversation_id: int) -> bool:
        """Schedule a draft for the conversation (from any thread); False when no loop runs."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._loop = loop
            self._spawn(self.generate(conversation_id))
            return True
        target = self._loop
        if target is None or target.is_closed() or not target.is_running():
            return False
        target.call_soon_threadsafe(self._spawn, self.generate(conversation_id))
        return True

    def _spawn(self, work: Coroutine[Any, Any, int | None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every scheduled draft is done (tests, the demo, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def generate(self, conversation_id: int) -> int | None:
        """Draft, store and queue a suggestion; returns its id (None: nothing to suggest)."""
        try:
            return await self._generate(conversation_id)
        except Exception:
            log.exception("drafting a suggestion for #%s failed", conversation_id)
            return None

    async def _generate(self, conversation_id: int) -> int | None:
        config = self.ctx.config.suggestions
        now = self.ctx.clock.now()
        with self.ctx.db.session() as session:
            data = suggestion_input(session, conversation_id)
            ranked = knowledge.search_for(session, data, now) if data else []
        if data is None:
            return None
        draft = await draft_reply(self.drafter, config, data, ranked)
        return self.store(data, draft)

    def store(self, data: SuggestionInput, draft: Draft) -> int | None:
        """Keep the draft and queue its card to the conversation's channels."""
        config = self.ctx.config.suggestions
        with self.ctx.db.session() as session:
            conv = conversations.get(session, data.conversation_id)
            if conv is None:
                return None
            suggestion = Suggestion(
                conversation_id=data.conversation_id,
                cycle=data.cycle,
                text=draft.text,
                tone=draft.tone,
                confidence=draft.confidence,
                needs_human=draft.needs_human,
                human_reason=draft.reason,
                origin=draft.origin,
                label=draft.label,
                model=draft.model,
                kb_entry_ids=list(draft.kb_entry_ids),
                prompt_tokens=draft.prompt_tokens,
                completion_tokens=draft.completion_tokens,
                total_tokens=draft.total_tokens,
                created_at=self.ctx.clock.now(),
            )
            session.add(suggestion)
            session.flush()
            mode = conversation_mode(self.ctx.config, list(conv.channels), dict(conv.labels))
            card = card_of(suggestion, conv.platform, config.limit_for(conv.platform), mode)
            self.ctx.queue(session, card, list(conv.channels))
            suggestion_id = suggestion.id
        self.ctx.on_queued()
        log.info(
            "suggestion %s for #%s (%s, %d tokens)",
            suggestion_id,
            data.conversation_id,
            draft.origin,
            draft.total_tokens,
        )
        return suggestion_id
