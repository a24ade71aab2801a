"""The dispatcher's delivery policy, as pure functions: given what is due on one
destination, the platform's capabilities and the channel's post budget, what to post now,
what to fold into one digest and what waits for the budget. No I/O and no clock: the
dispatcher (bot/dispatcher.py) reads the rows, asks these, and does the posting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.chat.base import Capabilities
from handlers.digest_group import DigestGroup


def channel_budget(configured: int | None, platform_ceiling: int) -> int:
    """A channel's posts per minute: its own ``max_posts_per_minute`` (None when the
    channel is not configured), never above what the platform declares it can take."""
    return platform_ceiling if configured is None else min(configured, platform_ceiling)


def burst_reason(per_minute: int) -> str:
    """Why a digest stands for alerts that came faster than the budget."""
    return f"burst over the channel budget of {per_minute} posts a minute"


class AlertAction(StrEnum):
    """What to do with the due alerts of one digest group (or of no group)."""

    WAIT = "wait"  # the budget is spent: all wait for its next free slot
    EACH = "each"  # post them one by one
    DIGEST = "digest"  # post one digest standing for all of them


@dataclass(frozen=True, slots=True)
class AlertPlan:
    action: AlertAction
    reason: str = ""  # the digest's reason (DIGEST only)


def plan_alerts(due: int, group_key: str | None, available: int, per_minute: int) -> AlertPlan:
    """For ``due`` alerts (at least one) of one destination in the group ``group_key``
    (None: alerts not held in a group), with ``available`` posts left of ``per_minute``.

    Ungrouped alerts go one by one while the budget allows; a lone alert always goes on
    its own; more than that (a group, quiet hours, a burst over the budget) is a digest.
    """
    if available == 0:
        return AlertPlan(AlertAction.WAIT)
    if (group_key is None and due <= available) or due == 1:
        return AlertPlan(AlertAction.EACH)
    if group_key is None:
        return AlertPlan(AlertAction.DIGEST, burst_reason(per_minute))
    return AlertPlan(AlertAction.DIGEST, DigestGroup.parse(group_key).reason())


def fold_followups(due: int, available: int) -> bool:
    """Whether ``due`` follow-ups of one destination go out as one digest: only when
    more are due than the budget has left, and it has something left (else they wait)."""
    return 0 < available < due


@dataclass(frozen=True, slots=True)
class RowPlan:
    """How one row other than an alert goes out."""

    edit: bool  # redraw the posted alert in place (no new message, no budget spent)
    threaded: bool  # post under the alert (when it was posted and the platform threads)
    wait: bool  # a new message over the budget: wait for its next free slot


def plan_row(
    *,
    status_update: bool,
    alert_posted: bool,
    alert_in_digest: bool,
    capabilities: Capabilities,
    available: int,
) -> RowPlan:
    """A status update edits its conversation's alert where the platform can edit and the
    alert was posted on its own (not inside a digest); anything else is a new message,
    threaded under the alert where possible, and waits when the budget is spent."""
    edit = status_update and alert_posted and not alert_in_digest and capabilities.edits
    return RowPlan(
        edit=edit,
        threaded=alert_posted and capabilities.threads,
        wait=not edit and available == 0,
    )
