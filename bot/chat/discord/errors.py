"""Failed Discord calls as :class:`DeliveryError`: a short reason, never a token or a body.

A 429 that discord.py would have to wait out longer than ``max_ratelimit_timeout`` raises
``discord.RateLimited``; it becomes a transient error carrying ``retry_after``, so the
dispatcher hands the row back to the outbox instead of blocking. 5xx and unreachable are
transient too. 403 (missing permission), 404 (unknown channel or message), 401 and 400
(a layout Discord refuses, code 50035) fail the same way again: permanent.
"""

from __future__ import annotations

import aiohttp
import discord

from bot.chat.base import DeliveryError

# What a REST call raises when Discord refused it or could not be reached. Anything else
# (a TypeError from a layout built wrong) is a bug and is not caught.
CALL_ERRORS: tuple[type[Exception], ...] = (
    discord.HTTPException,
    discord.RateLimited,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


def delivery_error(what: str, exc: Exception) -> DeliveryError:
    """A DeliveryError for a failed ``what`` (e.g. ``send message``)."""
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(
            f"Discord {what}: rate limited for {exc.retry_after:.0f}s",
            retry_after=exc.retry_after,
            status=429,
        )
    if isinstance(exc, discord.HTTPException):
        status = int(exc.status or 0)
        code = f" (code {exc.code})" if exc.code else ""
        reason = f"Discord {what}: HTTP {status}{code}"
        if status == 429 or status >= 500:
            return DeliveryError(reason, status=status)
        return DeliveryError(reason, permanent=True, status=status)
    return DeliveryError(f"Discord {what}: unreachable ({type(exc).__name__})")
