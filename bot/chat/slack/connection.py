"""How crmbot reaches Slack: tokens from the environment, the Web API client and its retries.

Socket Mode is used when an app token (``xapp-``) is set; otherwise HTTP mode, which needs
the signing secret. Tokens stay in :class:`~pydantic.SecretStr` until the client is built
and are never part of a log line, a message or an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.base import ChatSetupError
from bot.settings import Settings

DEFAULT_API_URL = "https://slack.com/api/"


class SlackSetupError(ChatSetupError, ValueError):
    """The Slack settings cannot work; the message says which variable to fix."""


@dataclass(frozen=True, slots=True)
class SlackConnection:
    """Validated Slack credentials and where the Web API lives."""

    bot_token: SecretStr
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = DEFAULT_API_URL

    @property
    def mode(self) -> Literal["socket", "http"]:
        """``socket`` when an app token is set, else ``http``."""
        return "socket" if self.app_token is not None else "http"


def _secret(value: SecretStr | None) -> SecretStr | None:
    if value is None or not value.get_secret_value().strip():
        return None
    return SecretStr(value.get_secret_value().strip())


def connection_from_settings(settings: Settings) -> SlackConnection | None:
    """The Slack connection the environment asks for; None when no Slack variable is set."""
    bot = _secret(settings.slack_bot_token)
    app = _secret(settings.slack_app_token)
    secret = _secret(settings.slack_signing_secret)
    if bot is None and app is None and secret is None:
        return None
    if bot is None:
        raise SlackSetupError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...).")
    if not bot.get_secret_value().startswith("xoxb-"):
        raise SlackSetupError("SLACK_BOT_TOKEN must be the bot token, which starts with xoxb-.")
    if app is not None and not app.get_secret_value().startswith("xapp-"):
        raise SlackSetupError(
            "SLACK_APP_TOKEN must be an app-level token, which starts with xapp-."
        )
    if app is None and secret is None:
        raise SlackSetupError(
            "Set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) "
            "next to SLACK_BOT_TOKEN."
        )
    return SlackConnection(
        bot_token=bot,
        app_token=app,
        signing_secret=secret,
        api_url=settings.slack_api_url or DEFAULT_API_URL,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries inside one Web API call; past them the dispatcher retries the outbox row.

    A 429 waits the ``Retry-After`` Slack sent; a 500/503 waits ``server_error_interval``.
    """

    max_retries: int = 2
    server_error_interval: RetryIntervalCalculator = field(
        default_factory=BackoffRetryIntervalCalculator
    )

    def handlers(self) -> list[AsyncRetryHandler]:
        """slack_sdk's connection, rate-limit and server-error retry handlers."""
        return [
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=self.max_retries),
            AsyncServerErrorRetryHandler(
                max_retry_count=self.max_retries, interval_calculator=self.server_error_interval
            ),
        ]


def make_client(connection: SlackConnection, retry: RetryPolicy | None = None) -> AsyncWebClient:
    """The bot's Web API client, pointed at ``connection.api_url``, with retry handlers."""
    return AsyncWebClient(
        token=connection.bot_token.get_secret_value(),
        base_url=connection.api_url,
        timeout=30,
        retry_handlers=(retry or RetryPolicy()).handlers(),
    )
