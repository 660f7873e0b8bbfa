"""Process settings: secrets, URLs and tokens, read from the environment (and `.env`).

Only `get_settings()` reads them, and only when called: importing this module does nothing.
Per-run choices (history length, thresholds) live in the graph's runtime context instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the process needs from its environment; see `.env.example` for each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server under data_dir."
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="Where the embedded PostgreSQL keeps its files, and cache/ what the offline model computes once.",
    )
    db_pool_max_size: int = Field(default=10, ge=1)

    model: str = Field(default="offline", description="offline | bedrock:<model id> | openai:<model>")
    classifier_model: str | None = Field(default=None, description="Optional cheaper model for classify.")
    judge_model: str | None = Field(
        default=None, description="bedrock:<id> | openai:<model>: judges answer correctness in `carebot eval`."
    )
    embeddings: str = Field(
        default="local",
        description="local (the sentence encoder shipped in the package) | none | bedrock:<id> | openai:<id>",
    )
    knowledge_base_id: str | None = Field(
        default=None, description="Knowledge Bases for Amazon Bedrock id; replaces the Postgres help-centre search."
    )
    aws_region: str | None = Field(default=None, description="Bedrock region (AWS_REGION).")
    bedrock_endpoint_url: str | None = Field(default=None, description="Override the Bedrock runtime endpoint.")
    bedrock_agent_endpoint_url: str | None = Field(
        default=None, description="Override the Bedrock agent runtime endpoint (Knowledge Bases)."
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None

    orders_api_url: str | None = Field(
        default=None, description="The shop's own order API; unset means the orders tables in the database."
    )
    orders_api_token: SecretStr | None = Field(default=None, description="Bearer token for the order API.")
    orders_api_timeout: float = Field(default=5.0, gt=0, description="Seconds per order API request.")
    orders_api_retries: int = Field(default=2, ge=0, description="Retries after a timeout, 429 or 5xx.")

    shop_name: str = "Lumen Home"
    seed_demo_data: bool = Field(default=True, description="Load the demo shop when the database is empty.")
    thread_id_salt: SecretStr = Field(
        default=SecretStr("carebot"), description="Key for hashing senders into thread ids."
    )
    history_limit: int = Field(default=20, ge=2, description="Messages kept per thread.")
    relevance_threshold: float = Field(default=0.3, ge=0, le=1)

    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for /admin endpoints; unset disables them (401)."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body accepted (413).")

    public_base_url: str | None = Field(
        default=None, description="The URL Twilio calls (https://bot.example.com): signatures are checked against it."
    )
    trust_proxy: bool = Field(default=False, description="Rebuild the public URL from X-Forwarded-Proto/Host.")
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = Field(default=None, description="whatsapp:+14155238886, the bot's number.")
    twilio_messaging_service_sid: str | None = Field(default=None, description="Send via a Messaging Service instead.")
    twilio_validate_signature: bool = True
    twilio_api_base_url: str | None = Field(default=None, description="Override https://api.twilio.com (tests).")
    discord_application_id: str | None = None
    discord_public_key: str | None = Field(default=None, description="Hex Ed25519 key of the Discord app.")
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    bot_trigger_words: str = Field(
        default="", description="Comma-separated; when set, WhatsApp messages without one are stored, not answered."
    )
    send_attempts: int = Field(default=4, ge=1, description="Tries per outbound message on transient failures.")
    send_backoff: float = Field(default=0.5, ge=0, description="Seconds before the first retry; doubles each time.")

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
