"""HubSpot webhook deliveries -> neutral :class:`CrmEvent` objects.

A delivery is a JSON array of subscription events, e.g.::

    [{"eventId": 3816279340, "subscriptionId": 25, "portalId": 33, "appId": 1160452,
      "occurredAt": 1462216307945, "subscriptionType": "contact.propertyChange",
      "attemptNumber": 0, "objectId": 1246965, "changeSource": "CRM",
      "propertyName": "lifecyclestage", "propertyValue": "subscriber"}]

HubSpot sends ids and the one changed property, not whole objects. Property changes of
one object in the same delivery are merged, so a delivery with ``firstname``, ``lastname``,
``email`` and ``twitterhandle`` changes gives the contact store a name, an email and a
handle to link authors by. Full objects are not fetched from HubSpot's API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.sources.schema import SchemaError
from handlers.events import CrmEvent

SOURCE = "hubspot"

# objectTypeId of HubSpot's generic "object.*" subscriptions, for the standard objects
_OBJECT_TYPES = {"0-1": "contact", "0-2": "company", "0-3": "deal", "0-5": "ticket"}
_CREATED = {"contact": "lead_created"}


class HubspotEventIn(BaseModel):
    """One subscription event as HubSpot sends it (unknown fields are kept, not refused)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    eventId: int
    subscriptionType: str = Field(min_length=3)
    objectId: int
    occurredAt: int = Field(ge=0, lt=4_102_444_800_000)  # ms; before 2100
    portalId: int
    subscriptionId: int | None = None
    appId: int | None = None
    attemptNumber: int = 0
    changeSource: str | None = None
    changeFlag: str | None = None
    propertyName: str | None = None
    propertyValue: str | None = None
    objectTypeId: str | None = None

    @property
    def object_type(self) -> str:
        prefix = self.subscriptionType.split(".", 1)[0].lower()
        if prefix == "object" and self.objectTypeId:
            return _OBJECT_TYPES.get(self.objectTypeId, f"object-{self.objectTypeId}")
        return prefix

    @property
    def action(self) -> str:
        return self.subscriptionType.split(".", 1)[-1]


def parse_delivery(
    data: Any, handle_properties: Sequence[str] = ("twitterhandle",)
) -> list[CrmEvent]:
    """Validate a decoded delivery (a JSON array) and map every event; SchemaError if bad."""
    if not isinstance(data, list):
        raise SchemaError("expected a JSON array of HubSpot subscription events")
    parsed: list[HubspotEventIn] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise SchemaError(f"[{i}]: expected a JSON object")
        try:
            parsed.append(HubspotEventIn.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise SchemaError(f"[{i}].{where}: {error['msg']}") from None
    merged = _merged_properties(parsed)
    return [
        to_event(event, raw, merged[(event.object_type, event.objectId)], handle_properties)
        for event, raw in zip(parsed, data, strict=True)
    ]


def _merged_properties(events: list[HubspotEventIn]) -> dict[tuple[str, int], dict[str, str]]:
    """Per object, every property value this delivery carries (the latest change wins)."""
    merged: dict[tuple[str, int], dict[str, str]] = {}
    for event in sorted(events, key=lambda e: e.occurredAt):
        props = merged.setdefault((event.object_type, event.objectId), {})
        if event.propertyName and event.propertyValue is not None:
            props[event.propertyName] = event.propertyValue
    return merged


def kind_of(event: HubspotEventIn) -> str:
    """The neutral CRM event kind: lead_created, deal_stage_changed, deal_created, ..."""
    obj, action = event.object_type, event.action
    if action == "creation":
        return _CREATED.get(obj, f"{obj}_created")
    if action in ("deletion", "privacyDeletion"):
        return f"{obj}_deleted"
    if obj == "deal" and action == "propertyChange" and event.propertyName == "dealstage":
        return "deal_stage_changed"
    return f"{obj}_updated"


def to_event(
    event: HubspotEventIn,
    raw: dict[str, Any],
    props: dict[str, str],
    handle_properties: Sequence[str] = ("twitterhandle",),
) -> CrmEvent:
    """One HubSpot subscription event as a CrmEvent (``props``: merged object properties)."""
    obj = event.object_type
    is_contact = obj == "contact"
    name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or None
    handles = tuple(props[p] for p in handle_properties if props.get(p))
    return CrmEvent(
        source=SOURCE,
        external_id=f"{event.portalId}:{event.subscriptionId or 0}:{event.objectId}:{event.eventId}",
        kind=kind_of(event),
        object_id=f"{obj}-{event.objectId}",
        occurred_at=datetime.fromtimestamp(event.occurredAt / 1000, UTC),
        summary=_summary(event),
        contact_id=str(event.objectId) if is_contact else None,
        contact_name=name if is_contact else None,
        contact_email=props.get("email") if is_contact else None,
        contact_handles=handles if is_contact else (),
        company=props.get("company") if is_contact else None,
        deal_name=props.get("dealname") if obj == "deal" else None,
        amount=_amount(props.get("amount")) if obj == "deal" else None,
        stage=props.get("dealstage") if obj == "deal" else None,
        properties=dict(props),
        raw=raw,
    )


def _summary(event: HubspotEventIn) -> str:
    what = f"HubSpot {event.object_type} {event.objectId}"
    action = event.action
    if action == "creation":
        return f"New {what}"
    if action in ("deletion", "privacyDeletion"):
        return f"{what} deleted"
    if action == "propertyChange" and event.propertyName:
        if event.propertyName == "dealstage":
            return f"{what} moved to stage {event.propertyValue}"
        return f"{what}: {event.propertyName} → {event.propertyValue}"
    return f"{what}: {action}"


def _amount(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        amount = float(value)
    except ValueError:
        return None
    return amount if math.isfinite(amount) else None
