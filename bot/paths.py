"""Where crmbot keeps files of its own on this machine: the user's data folder
(``~/.local/share/crmbot`` on Linux, by platformdirs; ``XDG_DATA_HOME`` moves it)."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path

APP_NAME = "crmbot"


def data_dir() -> Path:
    """The user's crmbot folder (not created here)."""
    return user_data_path(APP_NAME, appauthor=False)


def exports_dir() -> Path:
    """Default folder for exports, charts and other files the bot hands over."""
    return data_dir() / "exports"


def demo_database_url() -> str:
    """The demo's SQLite database: one per user, recreated by each ``crmbot demo``."""
    return f"sqlite:///{data_dir() / 'demo' / 'crmbot-demo.db'}"
