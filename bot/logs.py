"""Logging for the `crmbot` commands: text or JSON lines, and libraries kept quiet.

Libraries log whole payloads at DEBUG (slack_sdk prints every message body, SQLAlchemy
every statement with its parameters), so their loggers stay at INFO (SQLAlchemy and
Alembic at WARNING) even when ``CRMBOT_LOG_LEVEL=DEBUG``, unless
``CRMBOT_LOG_LIBRARIES=debug`` asks for them too.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
LIBRARY_LOGGERS = (
    "slack_sdk",
    "slack_bolt",
    "discord",
    "httpcore",
    "urllib3",
    "asyncio",
    "openai",
    "aiohttp",
    "apscheduler",
    "uvicorn",
    "watchfiles",
    "mastodon",
    "asyncpraw",
    "asyncprawcore",
    "atproto",
    "hubspot",
)
# INFO on these prints SQL statements, every request URL or migration chatter: WARNING.
QUIET_LIBRARY_LOGGERS = ("sqlalchemy", "alembic", "httpx")


def setup_logging(
    level: str = "INFO", fmt: str = "text", libraries: str | None = None, quiet: bool = False
) -> None:
    """Configure the root logger once for this process.

    ``level``: crmbot's own level; ``fmt``: ``text`` or ``json`` (one JSON object per line);
    ``libraries``: ``debug`` lets library loggers follow ``level`` down to DEBUG.
    """
    root_level = logging.WARNING if quiet else getattr(logging, level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    if fmt.lower() == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(root_level)
    verbose_libraries = (libraries or "").strip().lower() == "debug"
    for name in LIBRARY_LOGGERS:
        floor = logging.DEBUG if verbose_libraries else logging.INFO
        logging.getLogger(name).setLevel(max(root_level, floor))
    for name in QUIET_LIBRARY_LOGGERS:
        floor = logging.DEBUG if verbose_libraries else logging.WARNING
        logging.getLogger(name).setLevel(max(root_level, floor))
