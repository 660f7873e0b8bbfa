"""JSON logs, one line per event, with the event's fields at the top level."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from carebot.domain import E164, EMAIL

# Attributes every LogRecord has; anything else was passed through `extra=` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


# Personal data and secrets that must never reach a log line, whatever field (or error text,
# e.g. a provider's "invalid To number …") carries them: phone numbers, email addresses, JWTs.
_REDACT = re.compile(
    rf"{E164.pattern}"  # E.164 phone numbers (whatsapp:+… too)
    rf"|{EMAIL.pattern}"  # email addresses, as the guardrail and verification read them
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"  # JSON Web Tokens
)


def redact(text: str) -> str:
    return _REDACT.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(level: str = "INFO") -> None:
    """Send every log line to stderr as JSON (stdout stays free for command output)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The HTTP clients log every request, and the job queue every job, at INFO: noise (and CPU, at
    # several lines per turn) next to our own events (`turn_answered`, `reply_sent`, …).
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "botocore", "urllib3", "twilio", "aiohttp", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
