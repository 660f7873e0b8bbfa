"""Text as Postgres and JSON can hold it. Customers' messages may carry NUL bytes or lone UTF-16
surrogates (a broken emoji); Postgres refuses both, which used to drop the message. They are
replaced, so the message is stored and answered like any other."""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """`text` without NUL bytes, and with each lone surrogate replaced by U+FFFD (pairs are joined)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean_json(value: Any) -> Any:
    """Every string in a JSON-shaped value (keys too) cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def has_unstorable_characters(text: str) -> bool:
    """True when `text` holds what Postgres cannot store (for fields that are refused instead)."""
    return clean_text(text) != text
