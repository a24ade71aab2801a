"""Signed webhooks: ``POST /webhooks/hubspot`` and ``POST /webhooks/{source}``.

Every request goes through the same steps, and the first that fails answers:

1. the endpoint's secret is configured, else 503 (an unsigned request is never accepted);
2. the body is at most ``[sources.webhooks] max_body_bytes``, else 413 (checked against
   Content-Length first, then while reading: never more than the limit is read);
3. the signature is right (and, for HubSpot, fresh), else 401;
4. the body is JSON in the expected shape, else 400 with the reason and the field: that
   includes JSON nested too deep, integers out of range, NaN/Infinity, NUL characters and
   lone surrogates (bot/sources/safejson.py), and values the schema bounds (followers,
   times); bad input is never answered 5xx, so a sender never retries it for ever;
5. the events are ingested in one transaction (in a worker thread, shared with other
   requests arriving meanwhile: bot/sources/ingest_batcher.py) and only then 202 is
   answered, with counts; a repeated delivery is answered 202 with everything counted
   as a duplicate. Only an outage (the database unreachable or locked) answers 503 so
   the sender retries; a value the database still refuses answers 400.

Error bodies are ``{"error": "..."}`` and never contain a secret or a signature.
See docs/webhooks.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.settings import Settings
from bot.sources import hubspot, safejson
from bot.sources.ingest_batcher import IngestBatcher
from bot.sources.schema import SchemaError, parse_event
from bot.sources.signatures import (
    CRMBOT_HEADER,
    HUBSPOT_HEADER,
    HUBSPOT_TIMESTAMP_HEADER,
    SignatureError,
    verify_crmbot,
    verify_hubspot,
)
from handlers.events import InboundEvent
from handlers.safelog import shown
from handlers.source_port import SourceSink

log = logging.getLogger(__name__)


class _Refused(Exception):
    """Answer ``status`` with ``{"error": reason}``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def webhook_routes(bot: SourceSink, settings: Settings) -> list[BaseRoute]:
    """The webhook routes (HubSpot's before the generic one, which would also match it)."""
    endpoints = WebhookEndpoints(bot, settings)
    return [
        Route("/webhooks/hubspot", endpoints.hubspot, methods=["POST"]),
        Route("/webhooks/{source}", endpoints.generic, methods=["POST"]),
    ]


class WebhookEndpoints:
    """The request handlers; they read the live config on every request."""

    def __init__(self, bot: SourceSink, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings
        self.batcher = IngestBatcher(bot)

    async def hubspot(self, request: Request) -> JSONResponse:
        secret = self.settings.hubspot_client_secret
        try:
            if secret is None:
                raise _Refused(503, "HubSpot webhooks are off: HUBSPOT_CLIENT_SECRET is not set")
            body = await read_body(request, self._limit())
            try:
                verify_hubspot(
                    secret.get_secret_value(),
                    request.method,
                    self._signed_uri(request),
                    body,
                    request.headers.get(HUBSPOT_HEADER),
                    request.headers.get(HUBSPOT_TIMESTAMP_HEADER),
                    self.bot.clock.now(),
                )
            except SignatureError as exc:
                raise _Refused(401, exc.reason) from None
            data = _json(body)
            try:
                events: Sequence[InboundEvent] = hubspot.parse_delivery(
                    data, self.bot.config.sources.hubspot.handle_properties
                )
            except SchemaError as exc:
                raise _Refused(400, str(exc)) from None
            return await self._ingest("hubspot", events)
        except _Refused as refused:
            return _refuse("hubspot", refused)

    async def generic(self, request: Request) -> JSONResponse:
        path_source = str(request.path_params["source"])
        secret = self.settings.webhook_secret
        try:
            if secret is None:
                raise _Refused(503, "webhooks are off: CRMBOT_WEBHOOK_SECRET is not set")
            body = await read_body(request, self._limit())
            try:
                verify_crmbot(secret.get_secret_value(), body, request.headers.get(CRMBOT_HEADER))
            except SignatureError as exc:
                raise _Refused(401, exc.reason) from None
            events = self._generic_events(path_source, _json(body))
            return await self._ingest(path_source, events)
        except _Refused as refused:
            return _refuse(path_source, refused)

    # -- steps ---------------------------------------------------------------

    def _limit(self) -> int:
        return self.bot.config.sources.webhooks.max_body_bytes

    def _signed_uri(self, request: Request) -> str:
        """The URI HubSpot signed: CRMBOT_PUBLIC_URL + path when set (behind a proxy)."""
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
        query = request.url.query
        tail = path + (f"?{query}" if query else "")
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/") + tail
        return f"{request.url.scheme}://{request.url.netloc}{tail}"

    def _generic_events(self, path_source: str, data: Any) -> list[InboundEvent]:
        if isinstance(data, dict) and "events" in data and "type" not in data:
            items = data["events"]
            if not isinstance(items, list):
                raise _Refused(400, "'events' must be a JSON array")
            prefixes = [f"events[{i}]" for i in range(len(items))]
        elif isinstance(data, dict):
            items, prefixes = [data], [""]
        else:
            raise _Refused(400, 'expected a JSON object: one event, or {"events": [...]}')
        accepted = {path_source, *self.bot.config.sources.webhooks.aliases.get(path_source, [])}
        events: list[InboundEvent] = []
        for item, prefix in zip(items, prefixes, strict=True):
            where = f"{prefix}: " if prefix else ""
            try:
                event = parse_event(item)
            except SchemaError as exc:
                raise _Refused(400, f"{where}{exc}") from None
            if event.source not in accepted:
                raise _Refused(
                    400,
                    f"{where}source {event.source!r} is not accepted at /webhooks/{path_source} "
                    f"(use /webhooks/{event.source} or add it to "
                    f"[sources.webhooks.aliases] {path_source})",
                )
            events.append(event)
        return events

    async def _ingest(self, endpoint: str, events: Sequence[InboundEvent]) -> JSONResponse:
        try:
            result = await self.batcher.ingest(events)
        except Exception as exc:
            log.exception("webhook %s: storing %d events failed", shown(endpoint), len(events))
            status = _failure_status(exc)
            if status == 503:
                return JSONResponse({"error": "could not store the events; retry later"}, 503)
            if status == 400:
                return JSONResponse(
                    {"error": "the events could not be stored as sent (a value was refused)"}, 400
                )
            return JSONResponse({"error": "internal error; it is in the bot's log"}, 500)
        log.info(
            "webhook %s: %d received, %d stored, %d duplicates",
            shown(endpoint),
            result.received,
            result.stored,
            result.duplicates,
        )
        return JSONResponse(
            {
                "received": result.received,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "opened": len(result.opened),
            },
            status_code=202,
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without reading on."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _Refused(400, "Content-Length is not a number") from None
        if size > limit:
            raise _Refused(413, f"body over the {limit} byte limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _Refused(413, f"body over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return safejson.loads(body)
    except safejson.BodyError as exc:
        raise _Refused(400, exc.reason) from None


def _failure_status(exc: Exception) -> int:
    """503 when storing failed because the database is unavailable (the sender should
    retry), 400 when the database refused a value in the events (retrying the same body
    would fail again: a poison message), 500 for anything else (a bug, in the log)."""
    if isinstance(exc, DataError | IntegrityError):
        return 400
    if isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return 503
    if isinstance(exc, StatementError) and isinstance(
        exc.orig, UnicodeError | OverflowError | ValueError
    ):
        return 400
    if isinstance(exc, UnicodeError | OverflowError):
        return 400
    return 500


def _refuse(endpoint: str, refused: _Refused) -> JSONResponse:
    log.warning(
        "webhook %s refused (%d): %s", shown(endpoint), refused.status, shown(refused.reason, 300)
    )
    return JSONResponse({"error": refused.reason}, status_code=refused.status)
