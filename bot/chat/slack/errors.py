"""Failed Web API calls as :class:`DeliveryError`: a short reason, never a token or a body."""

from __future__ import annotations

import re

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.chat.base import DeliveryError

_CODE = re.compile(r"^[a-z0-9_.]{1,80}$")


def _retry_after(exc: SlackApiError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def _error_code(exc: SlackApiError) -> str | None:
    try:
        code = exc.response.get("error")
    except Exception:
        return None
    return code if isinstance(code, str) and _CODE.match(code) else None


# What a Web API call raises when Slack refused it or could not be reached. Anything else
# (e.g. SlackObjectFormationError from a block we built wrong) is a bug and is not caught.
CALL_ERRORS: tuple[type[Exception], ...] = (
    SlackApiError,
    SlackRequestError,
    aiohttp.ClientError,
    TimeoutError,
)


# Errors that will come back the same way until an admin fixes something (the channel,
# the app's scopes or membership, or a layout bug): dead-lettered at once, not retried.
PERMANENT_CODES = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "restricted_action",
        "missing_scope",
        "not_allowed_token_type",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "team_access_not_granted",
    }
)


def delivery_error(method: str, exc: Exception) -> DeliveryError:
    """A DeliveryError for a failed ``method`` call, with ``Retry-After`` when rate limited."""
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 0) or 0)
        code = _error_code(exc)
        if status == 429:
            return DeliveryError(
                f"Slack {method}: rate limited (HTTP 429)", retry_after=_retry_after(exc)
            )
        permanent = code in PERMANENT_CODES
        if status not in (0, 200):
            suffix = f" {code}" if code else ""
            return DeliveryError(
                f"Slack {method}: HTTP {status}{suffix}",
                permanent=permanent or status in (403, 404),
                status=status,
            )
        return DeliveryError(f"Slack {method}: {code or 'error'}", permanent=permanent, status=200)
    return DeliveryError(f"Slack {method}: unreachable ({type(exc).__name__})")


def is_outage(exc: Exception) -> bool:
    """Slack could not be reached or failed on its side (no answer, or HTTP 5xx)."""
    if isinstance(exc, SlackApiError):
        return int(getattr(exc.response, "status_code", 0) or 0) >= 500
    return True
