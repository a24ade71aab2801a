"""Which configured source (and so which account, base URL and credentials) answers a
reply, and how a reply mentions its author.

A target names its source (``ReplyTarget.source``). Mentions ingested by a poller carry
the platform as their source (``mastodon``), so when the name is not a configured table
the reply goes through the only table of that kind, or (Mastodon) the one on the instance
the mention was read from (``reply_ref["instance"]``), else the first by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from handlers.publish_port import PublishError, ReplyTarget

T = TypeVar("T")


def pick_source(
    kind: str, tables: Mapping[str, T], target: ReplyTarget, base_url_of: str = ""
) -> tuple[str, T]:
    """``(name, config)`` of the ``[sources.<kind>.NAME]`` table that answers ``target``.

    ``base_url_of`` names the config attribute holding the table's base URL, matched
    against ``reply_ref["instance"]``. Raises a permanent PublishError when none exists.
    """
    if not tables:
        raise PublishError(
            f"no [sources.{kind}] account is configured to reply from", permanent=True
        )
    for name in (target.source, target.reply_ref.get("source", "")):
        if name in tables:
            return name, tables[name]
    instance = target.reply_ref.get("instance")
    if instance and base_url_of:
        for name, table in tables.items():
            if urlsplit(str(getattr(table, base_url_of))).hostname == instance:
                return name, table
    name = sorted(tables)[0]
    return name, tables[name]


def with_mention(text: str, mention: str) -> str:
    """``text`` starting with ``mention`` (an ``@handle``) unless it mentions it already."""
    stripped = text.strip()
    pattern = rf"(?<![\w@.-]){re.escape(mention)}(?![\w@-]|\.\w)"
    if re.search(pattern, stripped, flags=re.IGNORECASE):
        return stripped
    return f"{mention} {stripped}"
