"""The outbox's typed contracts: kinds, statuses and digest groups."""

from __future__ import annotations

from handlers.cards import CARD_TYPES
from storage.outbox_types import OutboxKind


def test_every_card_kind_can_be_queued() -> None:
    assert set(CARD_TYPES) == {kind.value for kind in OutboxKind}
