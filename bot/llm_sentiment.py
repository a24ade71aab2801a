"""The model that re-labels sentiment: any OpenAI-compatible server through ``openai``.

Used when ``[sentiment] model`` is set and ``OPENAI_API_KEY`` is in the environment
(``OPENAI_BASE_URL`` points at another compatible server). One request labels a batch;
it is bounded by ``[sentiment] timeout`` and not retried (the offline label stands).
Neither the key nor the texts are ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from bot.llm import failure_reason
from bot.settings import Settings
from handlers.sentiment.model import ModelUnavailable

log = logging.getLogger(__name__)

RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {
        "name": "sentiment_labels",
        "schema": {
            "type": "object",
            "properties": {
                "labels": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "label": {"enum": ["negative", "neutral", "positive"]},
                            "score": {"type": "number", "minimum": -1, "maximum": 1},
                        },
                        "required": ["id", "label", "score"],
                        "additionalProperties": False,
                    },
                }
            },
            "required": ["labels"],
            "additionalProperties": False,
        },
    },
}


class OpenAISentimentModel:
    """Labels a batch with one ``chat.completions`` request."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client

    async def complete(
        self, messages: Sequence[dict[str, str]], *, model: str, request_timeout: float
    ) -> str:
        client = self.client.with_options(timeout=request_timeout, max_retries=0)
        try:
            response = await client.chat.completions.create(
                model=model,
                messages=[cast(ChatCompletionMessageParam, dict(m)) for m in messages],
                response_format=RESPONSE_FORMAT,
                temperature=0,
            )
        except openai.OpenAIError as exc:
            raise ModelUnavailable(failure_reason(exc)) from None
        message = response.choices[0].message if response.choices else None
        if message is None or not message.content:
            raise ModelUnavailable("the model answered nothing")
        return message.content


def sentiment_model_from_settings(settings: Settings) -> OpenAISentimentModel | None:
    """The model when ``OPENAI_API_KEY`` is set (``[sentiment] model`` turns it on)."""
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        return None
    client = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
    )
    return OpenAISentimentModel(client)
