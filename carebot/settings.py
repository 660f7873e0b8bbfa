"""Process settings: secrets, URLs and tokens, read from the environment (and `.env`).

Only `get_settings()` reads them, and only when called: importing this module does nothing.
Per-run choices (history length, thresholds) live in the graph's runtime context instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from carebot.domain import Language


class Settings(BaseSettings):
    """Everything the process needs from its environment; see `.env.example` for each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means the embedded server under data_dir."
    )
    app_database_url: str | None = Field(
        default=None,
        description="The app's own connection, as a role held to row-level security (no superuser, no BYPASSRLS, "
        "owns no table); unset means DATABASE_URL's server as DATABASE_APP_ROLE without a password. "
        "DATABASE_URL (the tables' owner) then only migrates.",
    )
    database_app_role: str = Field(
        default="carebot_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="The role the app connects as when APP_DATABASE_URL is unset (created if the owner may).",
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="Where the embedded PostgreSQL keeps its files, and cache/ what the offline model computes once.",
    )
    db_pool_max_size: int = Field(default=20, ge=2, description="Connections for the app (the job queue has its own).")

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
    bedrock_guardrail_id: str | None = Field(
        default=None,
        description="Amazon Bedrock Guardrail id or ARN: every customer message is checked with ApplyGuardrail "
        "before a model reads it (needs AWS_REGION), and Bedrock model answers are guarded.",
    )
    bedrock_guardrail_version: str | None = Field(
        default=None, description="The guardrail's version: a number, or DRAFT. Required with BEDROCK_GUARDRAIL_ID."
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None

    orders_api_url: str | None = Field(
        default=None, description="The shop's own order API; unset means the orders tables in the database."
    )
    orders_api_token: SecretStr | None = Field(default=None, description="Bearer token for the order API.")
    orders_api_timeout: float = Field(default=5.0, gt=0, description="Seconds per order API request.")
    orders_api_retries: int = Field(default=2, ge=0, description="Retries after a timeout, 429 or 5xx.")
    policy_file: Path | None = Field(
        default=None,
        description="The shop's rules for actions (TOML, README 'The policy file'); unset means the demo shop's.",
    )

    shop_name: str = "Lumen Home"
    shop_currency: str = Field(default="USD", description="The currency of the catalogue's prices.")
    default_language: Language = Field(
        default="en", description="The shop's language: a new conversation's first message too short to tell gets it."
    )
    seed_demo_data: bool | None = Field(
        default=None,
        description="Load the demo shop into an empty database; unset means only the embedded database.",
    )
    thread_id_salt: SecretStr | None = Field(
        default=None,
        description="Key for hashing senders into thread ids; unset means a random one kept in the database.",
    )
    history_limit: int = Field(default=20, ge=2, description="Messages kept per thread.")
    relevance_threshold: float = Field(default=0.3, ge=0, le=1)
    unsure_signal_floor: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="The semantic relevance and the lexical coverage a passage needs, each, to answer a message"
        " the classifier is unsure about.",
    )
    plain_answer_semantic: float = Field(
        default=0.8,
        ge=0,
        le=1.01,
        description="A message read confidently as off topic is still answered from the help centre when a passage"
        " reaches this semantic relevance and PLAIN_ANSWER_LEXICAL coverage (above 1: never).",
    )
    plain_answer_lexical: float = Field(default=0.5, ge=0, le=1.01)
    unsure_relevance_threshold: float = Field(
        default=0.55,
        ge=0,
        le=1,
        description="With passages of one score only (Bedrock, no embeddings): the score that answers a message"
        " the classifier is unsure about.",
    )

    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts tenants' stored secrets (Twilio/Discord tokens, …); unset means a random key kept "
        "in the database (the demo), so a dump would hold the key too: set it in production.",
    )
    secret_keys_retired: list[SecretStr] = Field(
        default_factory=list,
        description="Earlier SECRET_KEYs (JSON list), still read until `carebot tenants rotate-secrets` re-seals.",
    )
    web_identity_secret: SecretStr | None = Field(
        default=None, description="HS256 key of the identity tokens a shop's site signs for its web chat."
    )
    twilio_verify_service_sid: str | None = Field(
        default=None, description="VA…: one-time codes through Twilio Verify instead of our own."
    )
    twilio_verify_channel: Literal["sms", "whatsapp"] = Field(
        default="sms", description="How Twilio Verify sends a code to a phone number on file."
    )
    twilio_verify_api_base_url: str | None = Field(
        default=None, description="Override https://verify.twilio.com (tests)."
    )
    smtp_url: str | None = Field(
        default=None, description="smtp://user:password@host:587 (STARTTLS) or smtps://…:465: email one-time codes."
    )
    smtp_from: str | None = Field(default=None, description="The From address of code emails.")
    dev_mailbox: bool | None = Field(
        default=None,
        description="Keep codes in the dev_mailbox table instead of sending them; unset means only in the demo "
        "(embedded database, no Twilio Verify, no SMTP).",
    )
    rate_limit_per_minute: int = Field(
        default=12, ge=1, description="Messages per sender per minute that get answered; more are stored only."
    )

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
    send_max_age_hours: float = Field(
        default=24.0,
        gt=0,
        description="Transient send failures are retried until a reply is this old (WhatsApp's window).",
    )
    send_timeout: float = Field(
        default=15.0, gt=0, description="Seconds a provider has to answer a send; after that its outcome is checked."
    )
    send_backoff: float = Field(
        default=1.0, gt=0, description="Seconds before a failed send is retried; doubles each time."
    )
    send_backoff_max: float = Field(default=300.0, gt=0, description="Longest pause between two tries of a send.")

    worker_concurrency: int = Field(
        default=100, ge=1, description="Jobs (turns and sends) one worker process runs at once."
    )
    db_timeout: float = Field(
        default=1.5, gt=0, description="Seconds to wait for a database connection before answering 503."
    )
    sweep_seconds: int = Field(
        default=30, ge=1, le=59, description="How often a worker looks for stalled jobs and forgotten messages."
    )
    job_heartbeat_seconds: float = Field(default=10.0, gt=0, description="How often a worker says it is alive.")
    stalled_after_seconds: float = Field(
        default=60.0, gt=0, description="A worker silent this long is dead: its jobs are run again."
    )
    checkpoints_kept: int = Field(
        default=10, ge=1, description="Checkpoints kept per conversation (Studio's recent history); older ones go."
    )
    thread_ttl_days: float = Field(default=90.0, gt=0, description="Conversations idle this long are deleted.")
    message_retention_days: float = Field(
        default=30.0, gt=0, description="Inbox and outbox rows older than this are deleted."
    )

    handoff_webhook_url: str | None = Field(
        default=None, description='Every hand-over is POSTed here (Slack-compatible {"text"} plus JSON details).'
    )
    handoff_wait_minutes: float = Field(
        default=10.0, gt=0, description="Nobody took a waiting conversation this long: the customer is told, once."
    )
    handoff_idle_hours: float = Field(
        default=4.0, gt=0, description="A taken conversation with no operator message this long goes back to the bot."
    )
    support_hours: str | None = Field(
        default=None, description='When the team answers, e.g. "Mon–Fri 9:00–17:00": told to customers who wait.'
    )
    whatsapp_templates: dict[str, str] = Field(
        default_factory=dict,
        description='Approved WhatsApp templates operators may send outside the 24-hour window: {"name": "HX…"}.',
    )
    operator_session_hours: float = Field(default=12.0, gt=0, description="How long an operator stays signed in.")
    transcript_retention_days: float = Field(
        default=365.0, gt=0, description="Conversations and their transcripts idle this long are deleted."
    )

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @property
    def cache_dir(self) -> Path:
        """What the offline model computes once (trained models, the encoder unpacked) for later processes."""
        return self.data_dir / "cache"

    @property
    def seeds_demo_data(self) -> bool:
        """Demo customers go into the embedded database only, unless SEED_DEMO_DATA=true says otherwise."""
        return self.seed_demo_data if self.seed_demo_data is not None else self.database_url is None

    @property
    def uses_dev_mailbox(self) -> bool:
        """Codes land in the dev mailbox: asked for, or the demo with no way to send them."""
        if self.dev_mailbox is not None:
            return self.dev_mailbox
        return self.database_url is None and not (self.twilio_verify_service_sid or self.smtp_url)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings()
