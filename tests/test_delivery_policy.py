"""The dispatcher's delivery policy without a database or a chat platform
(bot/delivery_policy.py): what goes now, what becomes a digest, what waits."""

from __future__ import annotations

from bot.chat.base import Capabilities
from bot.delivery_policy import (
    AlertAction,
    AlertPlan,
    RowPlan,
    channel_budget,
    fold_followups,
    plan_alerts,
    plan_row,
)
from handlers.digest_group import DigestGroup

QUIET = DigestGroup.quiet("support").key


def test_a_channel_budget_never_exceeds_what_the_platform_takes() -> None:
    assert channel_budget(None, 50) == 50
    assert channel_budget(10, 50) == 10
    assert channel_budget(500, 30) == 30


def test_alerts_within_the_budget_go_one_by_one() -> None:
    assert plan_alerts(3, None, available=3, per_minute=50) == AlertPlan(AlertAction.EACH)
    assert plan_alerts(1, QUIET, available=5, per_minute=50) == AlertPlan(AlertAction.EACH)


def test_a_burst_over_the_budget_is_one_digest_saying_so() -> None:
    assert plan_alerts(4, None, available=3, per_minute=20) == AlertPlan(
        AlertAction.DIGEST, "burst over the channel budget of 20 posts a minute"
    )


def test_a_held_group_is_one_digest_saying_why() -> None:
    assert plan_alerts(2, QUIET, available=50, per_minute=50) == AlertPlan(
        AlertAction.DIGEST, "held during quiet hours (support)"
    )


def test_nothing_goes_while_the_budget_is_spent() -> None:
    for due, group in ((1, None), (5, None), (3, QUIET)):
        assert plan_alerts(due, group, available=0, per_minute=50).action is AlertAction.WAIT


def test_followups_fold_only_over_a_budget_with_room_left() -> None:
    assert fold_followups(5, available=3)
    assert not fold_followups(3, available=3)
    assert not fold_followups(5, available=0)  # they wait instead


def _row(
    caps: Capabilities,
    *,
    status: bool = True,
    posted: bool = True,
    in_digest: bool = False,
    available: int = 1,
) -> RowPlan:
    return plan_row(
        status_update=status,
        alert_posted=posted,
        alert_in_digest=in_digest,
        capabilities=caps,
        available=available,
    )


def test_a_status_update_edits_its_alert_even_over_the_budget() -> None:
    assert _row(Capabilities(), available=0) == RowPlan(edit=True, threaded=True, wait=False)


def test_a_status_update_is_posted_where_it_cannot_be_edited_in() -> None:
    assert _row(Capabilities(edits=False)) == RowPlan(edit=False, threaded=True, wait=False)
    assert _row(Capabilities(), in_digest=True).edit is False
    assert _row(Capabilities(), posted=False) == RowPlan(edit=False, threaded=False, wait=False)


def test_a_follow_up_threads_where_the_platform_threads_and_waits_for_the_budget() -> None:
    assert _row(Capabilities(), status=False) == RowPlan(edit=False, threaded=True, wait=False)
    assert _row(Capabilities(threads=False), status=False).threaded is False
    assert _row(Capabilities(), status=False, available=0).wait is True
