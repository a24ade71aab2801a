"""The port social publishers implement: a staff reply, published to where the customer is.

A publisher (``bot/publish/<platform>.py``) answers one mention on its platform with the
platform's real client: Mastodon (``status_post`` with ``in_reply_to_id``), Bluesky (a
post with reply refs and facets), Reddit (a comment), or a signed outbound webhook for
webhook sources. Handlers decide *whether* and *what* to publish (reply modes, approval,
limits: ``handlers/publishing.py``); the publish worker (``bot/publishing.py``) takes due
replies from the reply queue and calls :meth:`Publisher.publish`; a publisher never
reads storage.

Exactly once: every reply carries an idempotency ``key`` that stays the same across
retries. Before a retry of a reply whose earlier attempt may have reached the platform
(the process died, or the call timed out), the worker calls :meth:`Publisher.find`,
which asks the platform whether the reply is already there (by the key where the
platform keeps one, e.g. a deterministic Bluesky record key or Mastodon's
``Idempotency-Key``; otherwise by the account's recent replies to the target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import regex

from handlers.errors import RemoteError

Counting = Literal["chars", "graphemes"]


@dataclass(frozen=True, slots=True)
class TextLimit:
    """How long a reply may be on a platform, and how the platform counts."""

    max_length: int
    counting: Counting = "chars"

    def length(self, text: str) -> int:
        """``text``'s length as the platform counts it."""
        if self.counting == "graphemes":
            return len(regex.findall(r"\X", text))
        return len(text)

    def excess(self, text: str) -> int:
        """How much ``text`` is over the limit (0 when it fits)."""
        return max(0, self.length(text) - self.max_length)


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """The mention being answered, with what its platform needs to thread the answer.

    ``reply_ref`` is what the source stored at ingest (``handlers.events.Mention.reply_ref``):
    Mastodon ``{"id": local status id, "visibility": ...}``, Bluesky ``{"uri", "cid",
    "root_uri", "root_cid"}``, Reddit ``{"fullname": "t3_..."}``; empty for mentions
    ingested before replies existed (the publisher then looks the post up by ``external_id``).
    """

    source: str  # the configured source name (``[sources.mastodon.NAME]``, a webhook source)
    source_kind: str  # mastodon | bluesky | reddit | webhook
    platform: str  # the mention's platform (mastodon, bluesky, reddit, x, ...)
    external_id: str
    author_handle: str
    url: str | None = None
    reply_ref: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """One reply to publish. ``key`` is its idempotency key, the same on every attempt."""

    key: str
    reply_id: int
    conversation_id: int
    target: ReplyTarget
    text: str
    author: str  # the staff member who wrote it (outbound webhooks carry it)
    approver: str | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """Where the reply landed: its id on the platform and its public link."""

    external_id: str
    url: str | None = None


class PublishError(RemoteError):
    """Publishing failed (a :class:`RemoteError`): ``reason`` is said in the alert's
    thread as written; ``permanent`` failures are not retried (a deleted post, a refused
    credential); others are, after ``retry_after`` seconds when the platform said so."""


class Publisher(Protocol):
    """Publishes replies for the sources of one kind."""

    source_kind: str

    def limit(self, platform: str) -> TextLimit:
        """The length limit of a reply on ``platform``, checked before approval."""
        ...

    async def publish(self, reply: OutboundReply) -> Published:
        """Publish ``reply`` as an answer to its target; raises :class:`PublishError`."""
        ...

    async def find(self, reply: OutboundReply) -> Published | None:
        """The reply if the platform already has it (an earlier attempt got through),
        else None. Raises :class:`PublishError` when the platform cannot be asked."""
        ...


PublisherMap = Mapping[str, Publisher]  # source_kind -> publisher
