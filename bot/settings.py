"""Process settings from the environment (secrets live here, never in the config file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///crmbot.db"


class Settings(BaseSettings):
    """Environment variables read by ``crmbot``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    config_path: Path = Field(Path("crmbot.toml"), alias="CRMBOT_CONFIG")
    console_user: str | None = Field(None, alias="CRMBOT_CONSOLE_USER")
    log_level: str = Field("INFO", alias="CRMBOT_LOG_LEVEL")
    log_format: str = Field("text", alias="CRMBOT_LOG_FORMAT")  # text | json
    log_libraries: str | None = Field(None, alias="CRMBOT_LOG_LIBRARIES")  # debug: verbose libs
    # webhooks (bot/sources/webhooks.py); an endpoint whose secret is unset answers 503
    hubspot_client_secret: SecretStr | None = Field(None, alias="HUBSPOT_CLIENT_SECRET")
    # HubSpot's CRM API (bot/crm/hubspot.py): a private app token; the URL allows a proxy
    hubspot_access_token: SecretStr | None = Field(None, alias="HUBSPOT_ACCESS_TOKEN")
    hubspot_api_url: str = Field("https://api.hubapi.com", alias="HUBSPOT_API_URL")
    webhook_secret: SecretStr | None = Field(None, alias="CRMBOT_WEBHOOK_SECRET")
    public_url: str | None = Field(None, alias="CRMBOT_PUBLIC_URL")
    # Slack (bot/chat/slack): Socket Mode with an app token, else HTTP mode with the secret
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    # Discord (bot/chat/discord): the bot token turns it on; the URLs allow a REST proxy
    discord_token: SecretStr | None = Field(None, alias="DISCORD_TOKEN")
    discord_api_url: str = Field("https://discord.com/api/v10", alias="DISCORD_API_URL")
    discord_gateway_url: str | None = Field(None, alias="DISCORD_GATEWAY_URL")
    # suggested replies (bot/llm.py): any OpenAI-compatible server; unset key = offline
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
