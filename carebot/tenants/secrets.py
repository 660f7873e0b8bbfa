"""Tenants' secrets (Twilio auth tokens, Discord bot tokens, web identity secrets, order API
tokens) encrypted at rest with Fernet (`cryptography`: AES-128-CBC + HMAC-SHA256, versioned
tokens, and MultiFernet for key rotation, so no cryptography is written here).

The key is SECRET_KEY (any string; a Fernet key is derived from it); SECRET_KEYS_RETIRED lists
earlier ones, still read while `carebot tenants rotate-secrets` re-encrypts under the new one.
Without SECRET_KEY (the demo), a random key kept in the database's own secrets is used: a dump of
the database then holds the key too, so production sets SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsUnreadable(RuntimeError):
    """Stored secrets were encrypted under a key this process does not have."""


def _fernet(key: str) -> Fernet:
    # Any string works as SECRET_KEY: Fernet wants 32 url-safe base64 bytes, so hash it to that.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class SecretBox:
    """Encrypts a JSON object of secrets under the current key; decrypts under any listed key."""

    def __init__(self, key: str, retired: list[str] | None = None) -> None:
        self._box = MultiFernet([_fernet(key), *(_fernet(k) for k in retired or [])])

    def seal(self, secrets: dict[str, str]) -> str:
        return self._box.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def open(self, token: str | None) -> dict[str, str]:
        if not token:
            return {}
        try:
            value = json.loads(self._box.decrypt(token.encode()))
        except InvalidToken:
            raise SecretsUnreadable(
                "a tenant's secrets were sealed under a key not in SECRET_KEY/SECRET_KEYS_RETIRED"
            ) from None
        return {str(k): str(v) for k, v in value.items()}

    def rotate(self, token: str) -> str:
        """The same secrets under the current key (tokens under a retired key are re-sealed)."""
        return self._box.rotate(token.encode()).decode()


def hint(secret: str) -> str:
    """What the API shows of a secret: its last four characters."""
    return "…" + secret[-4:] if len(secret) > 4 else "…"
