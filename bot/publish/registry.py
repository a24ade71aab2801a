"""The publishers of a configuration, keyed by the ``source_kind`` of the mentions they
answer (``ReplyTarget.source_kind``): ``mastodon``, ``bluesky`` and ``reddit`` when such
sources are configured (a reply goes out from the account of one of them), and
``webhook`` always (replies to webhook sources go to the outbound webhook that names the
source, and say so in words when none does).

Credentials come from the environment, by the names the source tables give
(``token_env``, ``handle_env``/``app_password_env``, ``refresh_token_env`` or
``username_env``/``password_env``); they are read when a reply is published, so a
missing one fails that reply with the variable named instead of stopping the bot.
Platform libraries are imported only for the kinds in use.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from bot.publish.webhook import WebhookPublisher
from handlers.config import CrmbotConfig
from handlers.publish_port import Publisher

log = logging.getLogger(__name__)


class ClosablePublisher(Publisher, Protocol):
    """A publisher that holds network clients until :meth:`close`."""

    async def close(self) -> None:
        """Release the publisher's HTTP clients and sessions."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_publishers(
    config: CrmbotConfig,
    env: Mapping[str, str] | None = None,
    *,
    now: Callable[[], datetime] = _utc_now,
) -> dict[str, ClosablePublisher]:
    """The publishers for ``config``'s sources, with credentials from ``env``
    (the process environment by default); ``now`` stamps outbound webhooks' ``sent_at``
    and Bluesky posts' ``createdAt``."""
    environ: Mapping[str, str] = os.environ if env is None else env
    sources = config.sources
    publishers: dict[str, ClosablePublisher] = {
        "webhook": WebhookPublisher(sources.webhooks, environ, now=now)
    }
    if sources.mastodon:
        from bot.publish.mastodon import MastodonPublisher

        publishers["mastodon"] = MastodonPublisher(sources.mastodon, environ)
    if sources.bluesky:
        from bot.publish.bluesky import BlueskyPublisher

        publishers["bluesky"] = BlueskyPublisher(sources.bluesky, environ, now=now)
    if sources.reddit:
        from bot.publish.reddit import RedditPublisher

        publishers["reddit"] = RedditPublisher(sources.reddit, environ)
    return publishers


async def close_publishers(publishers: Mapping[str, Publisher]) -> None:
    """Close every publisher that holds a session (at shutdown, or after a reload
    replaced them); a failure is logged and the others are still closed."""
    for publisher in publishers.values():
        close = getattr(publisher, "close", None)
        if close is None:
            continue
        try:
            await close()
        except Exception:
            log.exception("closing a reply publisher failed")
