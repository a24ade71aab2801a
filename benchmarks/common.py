"""Helpers shared by the benchmarks: figure output and synthetic data."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from handlers.events import Mention

WORDS = [
    "sync",
    "upload",
    "photo",
    "backup",
    "app",
    "phone",
    "android",
    "iphone",
    "laptop",
    "folder",
    "share",
    "link",
    "team",
    "plan",
    "invoice",
    "billing",
    "support",
    "login",
    "password",
    "account",
    "storage",
    "quota",
    "update",
    "version",
    "desktop",
    "family",
    "album",
    "video",
    "camera",
    "screen",
    "offline",
    "restore",
    "delete",
    "trash",
    "version",
    "speed",
    "slow",
    "fast",
    "great",
    "love",
    "hate",
    "awful",
    "terrible",
    "amazing",
    "thanks",
    "help",
    "please",
    "why",
    "when",
    "how",
    "today",
    "again",
]
OPENERS = ["@acmecloud", "Hey @acmecloud", "So", "Honestly", "Ugh,", "Wow", "Anyone else:", ""]
FEELINGS = [
    "this is amazing, thank you!",
    "really frustrating, nothing works.",
    "is it just me?",
    "love the new update",
    "worst experience ever, cancelling.",
    "not bad at all.",
    "can someone help?",
    "",
]


def emit(figure: str, value: float, unit: str, goal: str, **extra: object) -> None:
    """Print one figure as a JSON line (the format BENCHMARKS.md asks for)."""
    print(
        json.dumps(
            {"figure": figure, "value": round(value, 3), "unit": unit, "goal": goal, **extra}
        ),
        flush=True,
    )


def mention_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18)))
        texts.append(f"{rng.choice(OPENERS)} {words} {rng.choice(FEELINGS)} #{i % 97}".strip())
    return texts


def mentions(n: int, authors: int = 5000, seed: int = 7) -> list[Mention]:
    """``n`` distinct mentions from ``authors`` authors on a few platforms."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    platforms = ["twitter", "mastodon", "reddit", "bluesky"]
    out = []
    for i, text in enumerate(mention_texts(n, seed)):
        platform = platforms[i % len(platforms)]
        author = rng.randrange(authors)
        out.append(
            Mention(
                source=platform,
                external_id=f"{platform}-{i}",
                platform=platform,
                author_handle=f"user{author}",
                author_followers=int(random.Random(author).paretovariate(1.2) * 50),
                text=text,
                url=f"https://{platform}.example/p/{i}",
                posted_at=start + timedelta(seconds=i),
            )
        )
    return out


def keyword_rules_toml(count: int, seed: int = 11) -> str:
    """A config with ``count`` keyword rules (3 keywords each) routed to 10 channels."""
    rng = random.Random(seed)
    vocabulary = [
        f"{a}{b}" for a in ("acme", "photo", "sync", "cloud", "plan", "team") for b in range(400)
    ]
    lines = ["[alerts]", 'default_channel = "c0"']
    lines += [f"[channels.c{i}]" for i in range(10)]
    for i in range(count):
        keywords = (
            [*rng.sample(vocabulary, 2), rng.choice(WORDS)]
            if i % 10 == 0
            else rng.sample(vocabulary, 3)
        )
        lines += [
            "[[rules]]",
            f'name = "rule-{i}"',
            f"keywords = {json.dumps(keywords)}",
            f'labels = {{ lane = "c{i % 10}" }}',
        ]
    for i in range(10):
        lines += ["[[routes]]", f'match = {{ lane = "c{i}" }}', f'channel = "c{i}"']
    return "\n".join(lines) + "\n"


@contextmanager
def private_pg_schema(base_url: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh PostgreSQL schema on ``base_url`` for one run (dropped afterwards); yields
    the URL whose connections use it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base_url else "?"
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
