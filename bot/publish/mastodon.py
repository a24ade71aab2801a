"""Replies on Mastodon: ``status_post`` in reply to the mention, from the account of a
``[sources.mastodon.NAME]`` table (its ``api_base_url`` and the token in ``token_env``,
which needs the ``write:statuses`` and ``read`` scopes).

The reply is threaded under the status's id on that instance (``reply_ref["id"]``, stored
when the poller read it there; otherwise the post is looked up by its ActivityPub URI with
``search_v2(resolve=True)``), starts with the author's ``@handle``, and is never more
visible than the original: a direct message is answered directly, a followers-only post
followers-only. Mastodon keeps the ``Idempotency-Key`` for an hour, so a retry inside it
cannot post twice; :meth:`MastodonPublisher.find` looks at the account's latest statuses
for a reply to the same post with the same text, for retries after that.

Mastodon.py is synchronous: calls run in a worker thread, with ``ratelimit_method="throw"``
so a rate limit becomes a retry at the reset time instead of a sleep.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mastodon import Mastodon
from mastodon import errors as api_errors

from bot.publish.errors import env_secret
from bot.publish.limits import MASTODON
from bot.publish.targets import pick_source, with_mention
from bot.sources.base import USER_AGENT, html_to_text
from handlers.config_sources import MastodonSource
from handlers.publish_port import OutboundReply, Published, PublishError, TextLimit

# narrowest last; a reply takes the original's visibility, never a wider one
VISIBILITY = ("public", "unlisted", "private", "direct")
RECENT = 40
_MENTION = re.compile(r"(?<!\S)@[\w.-]+(@[\w.-]+)?")


def reply_visibility(original: str | None) -> str:
    """The visibility of a reply to a post of ``original`` visibility (unknown: unlisted)."""
    return original if original in VISIBILITY else "unlisted"


def same_text(html: str, text: str) -> bool:
    """Whether a status's HTML ``content`` says ``text``: compared as plain text, without
    the @mentions (Mastodon renders ``@amy@example.social`` as a link reading ``@amy``)."""

    def plain(value: str) -> str:
        return " ".join(_MENTION.sub(" ", value).split())

    return plain(html_to_text(html)) == plain(text)


class MastodonPublisher:
    """Replies from the accounts of the ``[sources.mastodon.*]`` tables."""

    source_kind = "mastodon"

    def __init__(self, sources: Mapping[str, MastodonSource], env: Mapping[str, str]) -> None:
        self.sources = dict(sources)
        self.env = env
        self._clients: dict[str, Mastodon] = {}

    def limit(self, platform: str) -> TextLimit:
        return MASTODON

    async def publish(self, reply: OutboundReply) -> Published:
        return await asyncio.to_thread(self._run, reply, self._publish)

    async def find(self, reply: OutboundReply) -> Published | None:
        return await asyncio.to_thread(self._run, reply, self._find)

    async def close(self) -> None:
        """Close the instances' HTTP sessions."""
        clients, self._clients = self._clients, {}
        for api in clients.values():
            await asyncio.to_thread(api.session.close)

    # -- in a worker thread ------------------------------------------------------------

    def _run(self, reply: OutboundReply, step: Any) -> Any:
        name, config = pick_source("mastodon", self.sources, reply.target, "api_base_url")
        host = urlsplit(config.api_base_url).hostname or config.api_base_url
        api = self._client(name, config)
        try:
            return step(api, host, reply)
        except api_errors.MastodonError as exc:
            raise _error(api, host, config, exc) from None

    def _client(self, name: str, config: MastodonSource) -> Mastodon:
        if config.token_env is None:
            raise PublishError(
                f"sources.mastodon.{name} has no token_env: replying needs an access token "
                "with the write:statuses scope",
                permanent=True,
            )
        token = env_secret(self.env, config.token_env, f"the access token of {name}")
        if name not in self._clients:
            self._clients[name] = Mastodon(
                access_token=token,
                api_base_url=config.api_base_url,
                ratelimit_method="throw",
                request_timeout=20,
                version_check_mode="none",
                user_agent=USER_AGENT,
            )
        return self._clients[name]

    def _publish(self, api: Mastodon, host: str, reply: OutboundReply) -> Published:
        local_id, visibility = self._original(api, host, reply)
        status = api.status_post(
            self._text(reply),
            in_reply_to_id=local_id,
            visibility=reply_visibility(visibility),
            idempotency_key=reply.key,
        )
        return _published(status)

    def _find(self, api: Mastodon, host: str, reply: OutboundReply) -> Published | None:
        local_id, _ = self._original(api, host, reply)
        me = api.me()
        text = self._text(reply)
        for status in api.account_statuses(me, limit=RECENT, exclude_reblogs=True):
            if str(_get(status, "in_reply_to_id")) == local_id and same_text(
                str(_get(status, "content") or ""), text
            ):
                return _published(status)
        return None

    def _original(self, api: Mastodon, host: str, reply: OutboundReply) -> tuple[str, str | None]:
        """The mention's status id on ``host`` and its visibility."""
        ref = reply.target.reply_ref
        if ref.get("id") and ref.get("instance", host) == host and ref.get("visibility"):
            return ref["id"], ref["visibility"]
        found = api.search_v2(reply.target.external_id, resolve=True, result_type="statuses")
        statuses = list(_get(found, "statuses") or [])
        if not statuses:
            raise PublishError(
                f"{host} cannot find the post being answered (deleted, or not visible "
                "to the account?)",
                permanent=True,
            )
        status = statuses[0]
        return str(_get(status, "id")), _get(status, "visibility")

    @staticmethod
    def _text(reply: OutboundReply) -> str:
        return with_mention(reply.text, "@" + reply.target.author_handle.lstrip("@"))


def _published(status: Any) -> Published:
    uri = _get(status, "uri") or _get(status, "url") or _get(status, "id")
    return Published(external_id=str(uri), url=_get(status, "url") or None)


def _error(
    api: Mastodon, host: str, config: MastodonSource, exc: api_errors.MastodonError
) -> PublishError:
    if isinstance(exc, api_errors.MastodonRatelimitError):
        reset = getattr(api, "ratelimit_reset", None)
        wait = max(0.0, float(reset) - time.time()) if reset else None
        return PublishError(f"{host} rate limit reached", retry_after=wait)
    if isinstance(exc, api_errors.MastodonUnauthorizedError):
        return PublishError(
            f"{host} refused the access token (check {config.token_env}; it needs the "
            "write:statuses scope)",
            permanent=True,
        )
    if isinstance(exc, api_errors.MastodonNotFoundError):
        return PublishError(f"{host} answered 404: the post was deleted?", permanent=True)
    if isinstance(exc, api_errors.MastodonNetworkError):
        return PublishError(f"could not reach {host}")
    if isinstance(exc, api_errors.MastodonAPIError):
        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        detail = exc.args[3] if len(exc.args) > 3 and isinstance(exc.args[3], str) else ""
        reason = f"{host} answered HTTP {status or 'error'}" + (f": {detail}" if detail else "")
        return PublishError(reason, permanent=status is not None and 400 <= status < 500)
    return PublishError(f"{host}: {type(exc).__name__}")


def _get(obj: Any, key: str) -> Any:
    """A field of a Mastodon.py result (attribute-style dicts) or a plain dict."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)
