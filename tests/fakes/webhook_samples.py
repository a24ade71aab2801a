"""Valid webhook bodies that hostile-input checks start from, and the paths into them
that a mutation may replace (tests/test_properties.py, benchmarks/fuzz.py)."""

from __future__ import annotations

from typing import Any

# one HubSpot subscription event, as HubSpot delivers it (inside a JSON array)
HUBSPOT: dict[str, Any] = {
    "eventId": 1,
    "subscriptionId": 2,
    "portalId": 3,
    "occurredAt": 1772438400000,
    "subscriptionType": "deal.propertyChange",
    "objectId": 4,
    "propertyName": "dealstage",
    "propertyValue": "won",
}


def value_paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path into ``value`` (nested dicts), outermost first."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(value_paths(child, (*prefix, key)))
    return out
