"""Signed outbound webhooks: crmbot POSTs events (``reply.create``, ``lead.create``) to a
URL of the admin's choosing (``[sources.webhooks.outbound.NAME]``).

The body is ``{"event", "id", "sent_at", "data"}`` as JSON, signed like inbound webhooks
(``X-Crmbot-Signature: sha256=<hex HMAC-SHA256 of the body>``, bot/sources/signatures.py)
under the secret in ``secret_env``, with the event's idempotency key in both ``id`` and
the ``Idempotency-Key`` header: the same event sent again carries the same key, and the
receiver drops the repeat (the documented contract, docs/webhooks.md).

Answers: 2xx is delivered (a JSON body may carry the ``id`` and ``url`` of what the
receiver made); 408, 425, 429, 5xx and network failures are transient
(:class:`~handlers.publish_port.PublishError` with ``retry_after`` from ``Retry-After``);
any other 4xx is permanent, with the status and a short reason from the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.publish.errors import env_secret
from bot.sources.backoff import retry_after_seconds
from bot.sources.signatures import CRMBOT_HEADER, crmbot_signature
from handlers.config_sources import OutboundWebhookConfig, WebhooksConfig
from handlers.publish_port import PublishError

log = logging.getLogger(__name__)

USER_AGENT = "crmbot/0.1 (outbound webhook)"
EVENT_HEADER = "X-Crmbot-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_TRANSIENT = frozenset({408, 425, 429})
_REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class OutboundResult:
    """A delivered event: the HTTP status, and what the receiver said it made (if it did)."""

    status: int
    external_id: str | None = None
    url: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutboundWebhook:
    """One ``[sources.webhooks.outbound.NAME]`` endpoint."""

    def __init__(
        self,
        name: str,
        config: OutboundWebhookConfig,
        env: Mapping[str, str],
        *,
        now: Callable[[], datetime] = _utc_now,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.env = env
        self.now = now
        self.host = urlsplit(config.url).hostname or "the receiver"
        self._client = client
        self._own_client = client is None

    def accepts(self, event: str) -> bool:
        """Whether this endpoint is subscribed to ``event``."""
        return event in self.config.events

    def body(self, event: str, data: Mapping[str, Any], idempotency_key: str) -> bytes:
        """The exact bytes sent (and signed) for one event."""
        sent_at = self.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
        envelope = {"event": event, "id": idempotency_key, "sent_at": sent_at, "data": data}
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    async def send(
        self, event: str, body: Mapping[str, Any], idempotency_key: str
    ) -> OutboundResult:
        """POST ``event`` with ``body`` as its ``data``; raises PublishError when not delivered."""
        if not self.accepts(event):
            raise PublishError(
                f"outbound webhook {self.name} does not take {event} events", permanent=True
            )
        secret = env_secret(
            self.env, self.config.secret_env, f"the secret of outbound webhook {self.name}"
        )
        payload = self.body(event, body, idempotency_key)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            CRMBOT_HEADER: crmbot_signature(secret, payload),
            IDEMPOTENCY_HEADER: idempotency_key,
            EVENT_HEADER: event,
        }
        try:
            response = await self._http().post(self.config.url, content=payload, headers=headers)
        except httpx.TimeoutException:
            raise PublishError(
                f"{self.host} did not answer within {self.config.timeout.total_seconds():g}s"
            ) from None
        except httpx.HTTPError:
            raise PublishError(f"could not reach {self.host}") from None
        return self._result(event, response)

    def _result(self, event: str, response: httpx.Response) -> OutboundResult:
        status = response.status_code
        if 200 <= status < 300:
            found = _json_object(response)
            ext_id, url = found.get("id"), found.get("url")
            log.info("outbound webhook %s: %s delivered (HTTP %s)", self.name, event, status)
            return OutboundResult(
                status,
                str(ext_id) if isinstance(ext_id, str | int) and ext_id != "" else None,
                url if isinstance(url, str) and url.startswith(("http://", "https://")) else None,
            )
        reason = f"{self.host} answered HTTP {status}"
        detail = _short_reason(response)
        if detail:
            reason = f"{reason}: {detail}"
        if status in _TRANSIENT or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self.now())
            raise PublishError(reason, retry_after=wait)
        raise PublishError(reason, permanent=True)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout.total_seconds(), follow_redirects=False
            )
        return self._client

    async def close(self) -> None:
        """Release the HTTP client (when this object made it)."""
        client, self._client = self._client, None
        if client is not None and self._own_client:
            await client.aclose()


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _short_reason(response: httpx.Response) -> str:
    """A short reason from an error body: ``error`` / ``message`` of JSON, or plain text."""
    found = _json_object(response)
    text = found.get("error") or found.get("message") or found.get("reason")
    if not isinstance(text, str):
        plain = response.headers.get("content-type", "").startswith("text/plain")
        text = response.text if plain else ""  # never a page of HTML in the thread
    text = " ".join(str(text).split())
    if len(text) > _REASON_CHARS:
        text = text[: _REASON_CHARS - 1] + "…"
    return text


def subscribed(
    webhooks: WebhooksConfig,
    event: str,
    env: Mapping[str, str],
    *,
    now: Callable[[], datetime] = _utc_now,
) -> list[OutboundWebhook]:
    """The outbound webhooks whose ``events`` include ``event`` (e.g. ``lead.create``)."""
    return [
        OutboundWebhook(name, endpoint, env, now=now)
        for name, endpoint in webhooks.event_endpoints(event)
    ]
