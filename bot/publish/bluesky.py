"""Replies on Bluesky: an ``app.bsky.feed.post`` record in reply to the mention, from the
account of a ``[sources.bluesky.NAME]`` table (its ``base_url`` PDS, the handle and app
password in ``handle_env`` / ``app_password_env``), with the atproto SDK's AsyncClient.

The record's ``reply`` holds strong refs to the mention (``parent``) and its thread's
first post (``root``, the mention itself when it starts the thread), from the
``reply_ref`` the poller stored (else the post is read with ``getPosts``). The text starts
with the author's ``@handle``, made a mention facet (the handle resolved to its DID;
offsets are UTF-8 bytes, as the lexicon says).

Exactly once: the record key is derived from the reply's idempotency key
(:func:`record_key`, a valid TID), so :meth:`BlueskyPublisher.find` is a ``getRecord`` of
that key, and a repeated ``createRecord`` cannot make a second post: the repo already
holds the key, and the existing post is returned.

The session is kept between replies (``createSession`` is rate-limited to a few hundred a
day) and refreshed by the SDK; a refused one is dropped and made afresh on the next call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from atproto import AsyncClient, models
from atproto_client import exceptions as at_errors

from bot.publish.errors import env_secret
from bot.publish.limits import BLUESKY
from bot.publish.targets import pick_source, with_mention
from handlers.config_sources import BlueskySource
from handlers.publish_port import OutboundReply, Published, PublishError, TextLimit

COLLECTION = "app.bsky.feed.post"
WEB = "https://bsky.app"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
_TID_EPOCH_US = 1_704_067_200_000_000  # 2024-01-01: keys look like times after it


def record_key(idempotency_key: str) -> str:
    """A TID (13 base32-sortable characters, top bit clear) derived from the reply's
    idempotency key: the same key always gives the same record key."""
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    timestamp = _TID_EPOCH_US + (digest >> 20) % (1 << 44)  # about 200 days of microseconds
    value = (timestamp << 10) | (digest & 0x3FF)  # 53-bit time, 10-bit clock id
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def mention_facet(text: str, handle: str, did: str) -> Any | None:
    """A mention facet for the first ``@handle`` in ``text`` (UTF-8 byte offsets)."""
    tag = f"@{handle}"
    at = text.lower().find(tag.lower())
    if at < 0:
        return None
    start = len(text[:at].encode())
    end = start + len(text[at : at + len(tag)].encode())
    return models.AppBskyRichtextFacet.Main(
        index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end),
        features=[models.AppBskyRichtextFacet.Mention(did=did)],
    )


@dataclass(slots=True)
class _Account:
    client: AsyncClient
    did: str
    handle: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BlueskyPublisher:
    """Replies from the accounts of the ``[sources.bluesky.*]`` tables."""

    source_kind = "bluesky"

    def __init__(
        self,
        sources: Mapping[str, BlueskySource],
        env: Mapping[str, str],
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.sources = dict(sources)
        self.env = env
        self.now = now
        self._accounts: dict[str, _Account] = {}

    def limit(self, platform: str) -> TextLimit:
        return BLUESKY

    async def publish(self, reply: OutboundReply) -> Published:
        name, config = pick_source("bluesky", self.sources, reply.target)
        try:
            account = await self._login(name, config)
            record = await self._record(account.client, reply)
            rkey = record_key(reply.key)
            try:
                await account.client.com.atproto.repo.create_record(
                    models.ComAtprotoRepoCreateRecord.Data(
                        repo=account.did, collection=COLLECTION, rkey=rkey, record=record
                    )
                )
            except at_errors.BadRequestError:
                existing = await self._get(account, rkey)  # an earlier attempt made it
                if existing is None:
                    raise
                return existing
            return _published(account, rkey)
        except at_errors.AtProtocolError as exc:
            raise await self._error(name, config, exc) from None

    async def find(self, reply: OutboundReply) -> Published | None:
        name, config = pick_source("bluesky", self.sources, reply.target)
        try:
            account = await self._login(name, config)
            return await self._get(account, record_key(reply.key))
        except at_errors.AtProtocolError as exc:
            raise await self._error(name, config, exc) from None

    async def close(self) -> None:
        """End the HTTP sessions (the login sessions stay valid on the server)."""
        accounts, self._accounts = self._accounts, {}
        for account in accounts.values():
            await account.client.request.close()

    async def _login(self, name: str, config: BlueskySource) -> _Account:
        if name not in self._accounts:
            handle = env_secret(self.env, config.handle_env, f"the handle of {name}")
            password = env_secret(self.env, config.app_password_env, f"the app password of {name}")
            client = AsyncClient(base_url=config.base_url)
            await client.login(handle, password, fetch_bsky_profile=False)
            session = await client.com.atproto.server.get_session()
            self._accounts[name] = _Account(client, str(session.did), str(session.handle))
        return self._accounts[name]

    async def _get(self, account: _Account, rkey: str) -> Published | None:
        try:
            await account.client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=account.did, collection=COLLECTION, rkey=rkey
                )
            )
        except at_errors.BadRequestError as exc:
            if _error_name(exc) == "RecordNotFound":
                return None
            raise
        return _published(account, rkey)

    async def _record(self, client: AsyncClient, reply: OutboundReply) -> Any:
        target = reply.target
        handle = target.author_handle.lstrip("@")
        text = with_mention(reply.text, f"@{handle}")
        resolved = await client.com.atproto.identity.resolve_handle(
            models.ComAtprotoIdentityResolveHandle.Params(handle=handle)
        )
        facet = mention_facet(text, handle, str(resolved.did))
        return models.AppBskyFeedPost.Record(
            text=text,
            created_at=self.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            reply=await self._reply_ref(client, reply),
            facets=[facet] if facet is not None else None,
        )

    async def _reply_ref(self, client: AsyncClient, reply: OutboundReply) -> Any:
        ref = dict(reply.target.reply_ref)
        if not ref.get("cid"):
            ref = await self._lookup(client, reply.target.external_id)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=ref["uri"], cid=ref["cid"])
        root = models.ComAtprotoRepoStrongRef.Main(
            uri=ref.get("root_uri") or ref["uri"], cid=ref.get("root_cid") or ref["cid"]
        )
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)

    @staticmethod
    async def _lookup(client: AsyncClient, uri: str) -> dict[str, str]:
        """The strong refs of a post ingested before reply refs were stored."""
        found = await client.app.bsky.feed.get_posts(models.AppBskyFeedGetPosts.Params(uris=[uri]))
        if not found.posts:
            raise PublishError(
                "Bluesky cannot find the post being answered (deleted?)", permanent=True
            )
        post = found.posts[0]
        ref = {"uri": str(post.uri), "cid": str(post.cid)}
        parent = getattr(post.record, "reply", None)
        if parent is not None:
            ref |= {"root_uri": str(parent.root.uri), "root_cid": str(parent.root.cid)}
        return ref

    async def _error(
        self, name: str, config: BlueskySource, exc: at_errors.AtProtocolError
    ) -> PublishError:
        if isinstance(exc, at_errors.RateLimitExceededError):
            wait = exc.retry_after
            if wait is None and exc.reset_at is not None:
                wait = max(0.0, (exc.reset_at - self.now()).total_seconds())
            return PublishError("Bluesky rate limit reached (HTTP 429)", retry_after=wait)
        if isinstance(exc, at_errors.UnauthorizedError):
            account = self._accounts.pop(name, None)  # log in afresh next time
            if account is not None:  # a session that worked has ended: not the password
                await account.client.request.close()
                return PublishError("Bluesky ended the session; logging in again")
            return PublishError(
                "Bluesky refused the login (check "
                f"{config.handle_env} and {config.app_password_env})",
                permanent=True,
            )
        if isinstance(exc, at_errors.RequestErrorBase):
            if exc.response is None:
                return PublishError("could not reach Bluesky")
            status = exc.response.status_code
            detail = _error_message(exc)
            reason = f"Bluesky answered HTTP {status}" + (f": {detail}" if detail else "")
            return PublishError(reason, permanent=400 <= status < 500)
        return PublishError(f"Bluesky: {type(exc).__name__}")


def _published(account: _Account, rkey: str) -> Published:
    return Published(
        external_id=f"at://{account.did}/{COLLECTION}/{rkey}",
        url=f"{WEB}/profile/{account.handle}/post/{rkey}",
    )


def _error_name(exc: at_errors.RequestErrorBase) -> str | None:
    content = getattr(exc.response, "content", None)
    return getattr(content, "error", None) if content is not None else None


def _error_message(exc: at_errors.RequestErrorBase) -> str:
    content = getattr(exc.response, "content", None)
    message = getattr(content, "message", None) or getattr(content, "error", None)
    return " ".join(str(message).split())[:200] if message else ""
