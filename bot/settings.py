"""Process settings from the environment (secrets live here, never in the config file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///crmbot.db"


class Settings(BaseSettings):
    """Environment variables read by ``crmbot``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    config_path: Path = Field(Path("crmbot.toml"), alias="CRMBOT_CONFIG")
    console_user: str | None = Field(None, alias="CRMBOT_CONSOLE_USER")
    log_level: str = Field("INFO", alias="CRMBOT_LOG_LEVEL")
