"""The outbox's typed contracts: kinds, statuses and digest groups."""

from __future__ import annotations

from handlers.cards import CARD_TYPES
from handlers.digest_group import DigestGroup
from storage.outbox_types import OutboxKind


def test_every_card_kind_can_be_queued() -> None:
    assert set(CARD_TYPES) == {kind.value for kind in OutboxKind}


def test_a_digest_group_reads_back_as_written() -> None:
    groups = [
        DigestGroup.route("support", ["team", "lang"], {"team": "eu", "lang": "de"}),
        DigestGroup.route("route #2", [], {}),
        DigestGroup.quiet("support"),
        DigestGroup.repeat("4h"),
        DigestGroup.inhibit(12),
    ]
    assert [g.key for g in groups] == [
        "group:support:team=eu,lang=de",
        "group:route #2:",
        "quiet:support",
        "repeat:4h",
        "inhibit:12",
    ]
    assert [DigestGroup.parse(g.key) for g in groups] == groups


def test_the_digest_says_why_its_alerts_waited() -> None:
    reasons = [
        DigestGroup.parse(key).reason()
        for key in ("group:support:team=eu", "group:support:", "quiet:support", "repeat:4h")
    ]
    assert reasons == [
        "grouped by support (team=eu)",
        "grouped by support",
        "held during quiet hours (support)",
        "still unclaimed (repeat_interval of 4h)",
    ]
    assert DigestGroup.inhibit(12).reason() == "muted while spike #12 is open"
    assert DigestGroup.parse("legacy:x").reason() == "grouped by legacy (x)"
