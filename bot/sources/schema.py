"""crmbot's generic JSON event schema (webhooks, imported files, the demo stream).

One JSON object per event, ``"type"`` tells which:

- ``mention``: ``source, id, platform, author{handle, name?, followers?, email?}, text,
  posted_at, url?, thread_id?, lang?``
- ``crm``: ``source, id, kind, object_id, occurred_at, summary?, contact{id, name?, email?,
  handles?, company?}?, deal{name?, amount?, stage?, previous_stage?}?, properties?``

Times are ISO 8601 with a zone (``2026-11-20T09:00:00Z``), between 1970 and 2100.
``author.followers`` is at most 2,147,483,647. Bodies are decoded by
:mod:`bot.sources.safejson` first (no NUL characters, lone surrogates, NaN or integers
beyond 64 bits anywhere, at most 64 levels deep).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from handlers.events import CrmEvent, Mention

_Text = Annotated[str, Field(min_length=1, max_length=40_000)]
_Id = Annotated[str, Field(min_length=1, max_length=200)]
MAX_FOLLOWERS = 2**31 - 1  # stored as a 32-bit integer; no account has more
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def in_range(value: datetime) -> datetime:
    """An event time as UTC, refused outside 1970..2100 (or unrepresentable in UTC)."""
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("time out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("time must be between 1970 and 2100")
    return value


_Time = Annotated[AwareDatetime, AfterValidator(in_range)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class AuthorIn(_Model):
    handle: _Id
    name: str | None = None
    followers: int = Field(0, ge=0, le=MAX_FOLLOWERS)
    email: str | None = None


class MentionIn(_Model):
    type: Literal["mention"]
    source: _Id
    id: _Id
    platform: _Id
    author: AuthorIn
    text: _Text
    posted_at: _Time
    url: str | None = None
    thread_id: str | None = None
    lang: str | None = None

    def to_event(self, raw: dict[str, Any]) -> Mention:
        return Mention(
            source=self.source,
            external_id=self.id,
            platform=self.platform.lower(),
            author_handle=self.author.handle.lstrip("@"),
            author_name=self.author.name,
            author_followers=self.author.followers,
            author_email=self.author.email,
            text=self.text,
            url=self.url,
            thread_id=self.thread_id,
            lang=self.lang,
            posted_at=self.posted_at,
            raw=raw,
        )


class ContactIn(_Model):
    id: _Id
    name: str | None = None
    email: str | None = None
    handles: list[str] = Field(default_factory=list)
    company: str | None = None


class DealIn(_Model):
    name: str | None = None
    amount: float | None = Field(None, ge=0)
    stage: str | None = None
    previous_stage: str | None = None


class CrmIn(_Model):
    type: Literal["crm"]
    source: _Id
    id: _Id
    kind: _Id
    object_id: _Id
    occurred_at: _Time
    summary: str = ""
    contact: ContactIn | None = None
    deal: DealIn | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    def to_event(self, raw: dict[str, Any]) -> CrmEvent:
        contact = self.contact
        deal = self.deal or DealIn()
        return CrmEvent(
            source=self.source,
            external_id=self.id,
            kind=self.kind,
            object_id=self.object_id,
            occurred_at=self.occurred_at,
            summary=self.summary,
            contact_id=contact.id if contact else None,
            contact_name=contact.name if contact else None,
            contact_email=contact.email if contact else None,
            contact_handles=tuple(contact.handles) if contact else (),
            company=contact.company if contact else None,
            deal_name=deal.name,
            amount=deal.amount,
            stage=deal.stage,
            previous_stage=deal.previous_stage,
            properties=self.properties,
            raw=raw,
        )


EventIn = Annotated[MentionIn | CrmIn, Field(discriminator="type")]
_ADAPTER: TypeAdapter[MentionIn | CrmIn] = TypeAdapter(EventIn)


class SchemaError(ValueError):
    """An event object does not follow the schema; the message says where and why."""


def parse_event(data: Any) -> Mention | CrmEvent:
    """Validate one decoded JSON object and return the neutral event."""
    if not isinstance(data, dict):
        raise SchemaError("expected a JSON object")
    if data.get("type") not in ("mention", "crm"):
        raise SchemaError(f"'type' must be 'mention' or 'crm', got {data.get('type')!r}")
    try:
        model = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise SchemaError(_describe(exc)) from None
    return model.to_event(data)


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        loc = ".".join(str(p) for p in error["loc"][1:])
        msg = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def event_time(data: dict[str, Any]) -> datetime | None:
    """The stream time of a raw line (posted_at / occurred_at / at), if it has one."""
    for key in ("posted_at", "occurred_at", "at"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
    return None
