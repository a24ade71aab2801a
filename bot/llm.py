"""The model behind suggested replies: any OpenAI-compatible server through ``openai``.

``OPENAI_API_KEY`` turns it on and ``OPENAI_BASE_URL`` points it at another compatible
server (a local model, a proxy). The model name, timeout and retries come from the
config on every call, so a reload changes them. Errors become a short :class:`DraftError`
reason; neither the key nor the prompt is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from bot.settings import Settings
from handlers.suggest.prompt import DraftAnswer
from handlers.suggest.service import Completion, DraftError

log = logging.getLogger(__name__)

RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "suggested_reply", "schema": DraftAnswer.model_json_schema()},
}


def failure_reason(exc: openai.OpenAIError) -> str:
    """Why a model request failed, short and safe to show ("the model timed out")."""
    if isinstance(exc, openai.APITimeoutError):
        return "the model timed out"
    if isinstance(exc, openai.RateLimitError):
        return "the model is rate-limited"
    if isinstance(exc, openai.APIStatusError):
        return f"the model answered HTTP {exc.status_code}"
    if isinstance(exc, openai.APIConnectionError):
        return "the model could not be reached"
    return f"the model failed ({type(exc).__name__})"


class OpenAIDrafter:
    """Drafts with ``chat.completions`` and a JSON-schema response format."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client

    async def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        request_timeout: float,
        max_retries: int,
    ) -> Completion:
        client = self.client.with_options(timeout=request_timeout, max_retries=max_retries)
        try:
            response = await client.chat.completions.create(
                model=model,
                messages=[cast(ChatCompletionMessageParam, dict(m)) for m in messages],
                response_format=RESPONSE_FORMAT,
                temperature=0.3,
            )
        except openai.OpenAIError as exc:
            raise DraftError(failure_reason(exc)) from None
        usage = response.usage
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice is not None else None
        return Completion(
            content=message.content if message is not None else None,
            refusal=getattr(message, "refusal", None) if message is not None else None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            total_tokens=usage.total_tokens if usage else 0,
        )


def drafter_from_settings(settings: Settings) -> OpenAIDrafter | None:
    """The model when ``OPENAI_API_KEY`` is set; None means offline suggestions."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        log.info("no OPENAI_API_KEY: suggestions come from the knowledge base and templates")
        return None
    client = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
    )
    log.info("suggested replies by an OpenAI-compatible model at %s", client.base_url.host)
    return OpenAIDrafter(client)
