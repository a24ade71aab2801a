"""Exponential backoff, one implementation for everything that retries on a schedule: the
dispatcher's outbox rows and the source pollers.

The doubling is tenacity's ``wait_exponential``; jitter and the platform's Retry-After
are applied on top. Delays are computed, never slept: callers store ``now + delay``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, wait_exponential


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``attempt`` (1-based): ``base * 2^(attempt-1)`` kept between
    ``floor`` and ``cap``, then +/- ``jitter`` (a fraction); a Retry-After from the platform
    wins when it asks for longer (up to ``max_retry_after`` when given)."""

    base: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2
    floor: float = 0.0
    max_retry_after: float | None = None

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        state = RetryCallState(_RETRYING, None, (), {})
        state.attempt_number = attempt
        seconds = wait_exponential(multiplier=self.base, min=self.floor, max=self.cap)(state)
        if self.jitter:
            seconds *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None and retry_after > 0:
            if self.max_retry_after is not None:
                retry_after = min(retry_after, self.max_retry_after)
            seconds = max(seconds, retry_after)
        return float(seconds)


_RETRYING = Retrying()  # tenacity's wait functions read only the attempt number of a state
