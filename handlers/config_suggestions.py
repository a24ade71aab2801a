"""``[suggestions]``: suggested replies drafted by a model (or offline from the knowledge base).

The model is any OpenAI-compatible server (``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` in the
environment); without a key, suggestions come from the knowledge base and templates.
``timeout`` and ``max_retries`` bound each draft, so a slow model delays only the
suggestion, never the alert it follows.
"""

from __future__ import annotations

from pydantic import Field

from handlers.config_types import StrictModel

DEFAULT_LIMITS: dict[str, int] = {
    "twitter": 280,
    "x": 280,
    "mastodon": 500,
    "bluesky": 300,
}

DEFAULT_RULES: list[str] = [
    "Never promise refunds, credits, dates or legal outcomes.",
    "Never ask for passwords or full card numbers in public.",
    "Offer to continue in private messages when account details are needed.",
]


class SuggestionsConfig(StrictModel):
    """How suggested replies are drafted."""

    enabled: bool = False  # opt-in: it adds a message to every alert thread
    model: str = Field("gpt-4o-mini", min_length=1)
    brand_voice: str = "Friendly, concise and helpful; plain words, no jargon, at most one emoji."
    rules: list[str] = Field(default_factory=lambda: list(DEFAULT_RULES))
    timeout: float = Field(15.0, gt=0, le=120, description="seconds per model request")
    max_retries: int = Field(1, ge=0, le=3)
    examples: int = Field(3, ge=0, le=10, description="approved replies shown to the model")
    limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_LIMITS))
    default_limit: int = Field(1000, ge=50, le=10000)

    def limit_for(self, platform: str) -> int:
        """The longest reply the platform takes (our default for unknown platforms)."""
        return self.limits.get(platform.lower(), self.default_limit)
