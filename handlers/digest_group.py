"""Digest groups: alerts held back to be posted together as one digest, and why.

Ingest, escalation and inhibition write a group (quiet hours, a route's ``group_by``, a
``repeat_interval`` re-post, alerts muted by an open spike); the dispatcher reads it back
to say why the digest was sent. Stored in ``Outbox.group_key`` as ``<kind>:<name>``
(``group:<route>:<labels>`` for a route's grouping); :meth:`DigestGroup.key` and
:meth:`DigestGroup.parse` are the only places that know that format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class GroupKind(StrEnum):
    """Why alerts wait to be posted together."""

    ROUTE = "group"  # the route's group_by / group_wait
    QUIET = "quiet"  # the route's quiet hours
    REPEAT = "repeat"  # still unclaimed: re-posted every repeat_interval
    INHIBIT = "inhibit"  # muted while a spike is open


_KINDS = frozenset(kind.value for kind in GroupKind)


@dataclass(frozen=True, slots=True)
class DigestGroup:
    """One digest group. ``name`` is the route label (ROUTE, QUIET), the repeat interval
    (REPEAT) or the spike's conversation id (INHIBIT); ``labels`` the ``k=v,...`` values a
    ROUTE group is keyed by."""

    kind: GroupKind
    name: str
    labels: str = ""

    @classmethod
    def route(cls, route: str, group_by: Sequence[str], labels: Mapping[str, str]) -> DigestGroup:
        """The group of alerts of ``route`` sharing the values of ``group_by``."""
        return cls(GroupKind.ROUTE, route, ",".join(f"{k}={labels.get(k, '')}" for k in group_by))

    @classmethod
    def quiet(cls, route: str) -> DigestGroup:
        return cls(GroupKind.QUIET, route)

    @classmethod
    def repeat(cls, interval: str) -> DigestGroup:
        return cls(GroupKind.REPEAT, interval)

    @classmethod
    def inhibit(cls, spike_conversation_id: int) -> DigestGroup:
        return cls(GroupKind.INHIBIT, str(spike_conversation_id))

    @property
    def key(self) -> str:
        """The stored form (``Outbox.group_key``)."""
        if self.kind is GroupKind.ROUTE:
            return f"{self.kind}:{self.name}:{self.labels}"
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> DigestGroup:
        """The group a stored ``key`` names (a key of no known kind reads as a route)."""
        prefix, _, rest = key.partition(":")
        if prefix not in _KINDS:
            rest = key
        elif (kind := GroupKind(prefix)) is not GroupKind.ROUTE:
            return cls(kind, rest)
        route, _, labels = rest.partition(":")
        return cls(GroupKind.ROUTE, route, labels)

    def reason(self) -> str:
        """Why the digest was sent, in words (shown on the digest card)."""
        if self.kind is GroupKind.REPEAT:
            return f"still unclaimed (repeat_interval of {self.name})"
        if self.kind is GroupKind.INHIBIT:
            return f"muted while spike #{self.name} is open"
        if self.kind is GroupKind.QUIET:
            return f"held during quiet hours ({self.name})"
        return f"grouped by {self.name}" + (f" ({self.labels})" if self.labels else "")
