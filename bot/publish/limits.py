"""How long a reply may be, per platform (checked before approval, handlers/publishing.py).

Webhook sources deliver to many platforms through an automation tool; their limit is the
mention's platform's own where it is known, else a generous default the receiver can cut.
"""

from __future__ import annotations

from handlers.publish_port import TextLimit

MASTODON = TextLimit(500)  # the default of a Mastodon instance
BLUESKY = TextLimit(300, counting="graphemes")
REDDIT = TextLimit(10_000)
DEFAULT = TextLimit(10_000)

KNOWN: dict[str, TextLimit] = {
    "x": TextLimit(280),
    "twitter": TextLimit(280),
    "threads": TextLimit(500),
    "mastodon": MASTODON,
    "bluesky": BLUESKY,
    "reddit": REDDIT,
    "linkedin": TextLimit(1_250),  # a comment
    "facebook": TextLimit(8_000),  # a comment
    "instagram": TextLimit(2_200),  # a comment
}


def platform_limit(platform: str) -> TextLimit:
    """The limit of a reply on ``platform`` (by name, case-insensitive)."""
    return KNOWN.get(platform.lower(), DEFAULT)
