"""Replies to mentions of webhook sources: a signed ``reply.create`` to the outbound
webhook that takes the source's replies (``[sources.webhooks.outbound.NAME] sources``).

The receiver (an automation tool posting to X, a help desk, an in-house system) delivers
the reply and may answer ``{"id", "url"}`` of what it made. It must drop a repeat of the
same ``Idempotency-Key`` (docs/webhooks.md), which makes a repeated ``publish`` safe: so
:meth:`WebhookPublisher.find` cannot ask and returns None, and the retry sends again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.publish.limits import platform_limit
from bot.publish.outbound import OutboundWebhook
from handlers.config_sources import WebhooksConfig
from handlers.publish_port import OutboundReply, Published, PublishError, TextLimit

EVENT = "reply.create"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def reply_body(reply: OutboundReply) -> dict[str, Any]:
    """The ``data`` of a ``reply.create`` event."""
    target = reply.target
    return {
        "reply_id": reply.reply_id,
        "conversation_id": reply.conversation_id,
        "text": reply.text,
        "author": reply.author,
        "approver": reply.approver,
        "target": {
            "source": target.source,
            "platform": target.platform,
            "id": target.external_id,
            "author_handle": target.author_handle,
            "url": target.url,
        },
    }


class WebhookPublisher:
    """Sends replies to webhook sources' mentions through their outbound webhooks."""

    source_kind = "webhook"

    def __init__(
        self,
        config: WebhooksConfig,
        env: Mapping[str, str],
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.config = config
        self._hooks = {
            name: OutboundWebhook(name, endpoint, env, now=now)
            for name, endpoint in config.outbound.items()
        }

    def limit(self, platform: str) -> TextLimit:
        return platform_limit(platform)

    async def publish(self, reply: OutboundReply) -> Published:
        source = reply.target.source
        found = self.config.reply_endpoint(source)
        if found is None:
            raise PublishError(
                f"no outbound webhook takes replies to {source} mentions: add "
                f'sources = ["{source}"] to a [sources.webhooks.outbound.NAME] table',
                permanent=True,
            )
        result = await self._hooks[found[0]].send(EVENT, reply_body(reply), reply.key)
        return Published(external_id=result.external_id or reply.key, url=result.url)

    async def find(self, reply: OutboundReply) -> Published | None:
        """None: the receiver drops a repeated ``Idempotency-Key``, so sending again is safe."""
        return None

    async def close(self) -> None:
        """Release the webhooks' HTTP clients."""
        for hook in self._hooks.values():
            await hook.close()
