"""Platforms as people write them (``Bluesky``, ``X``), for answers and cards."""

from __future__ import annotations

PLATFORM_NAMES = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "reddit": "Reddit",
    "x": "X",
    "twitter": "X",
    "webhook": "the webhook",
}


def platform_name(platform: str) -> str:
    """How a platform is written for people: ``Bluesky``, ``X``."""
    return PLATFORM_NAMES.get(platform.lower(), platform.capitalize() or "the platform")
