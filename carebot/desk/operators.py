"""The shop's operators: accounts (passwords hashed with Argon2 through pwdlib) and the sessions
of their browsers. Used by `carebot operators …` and by the operator app's sign-in."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, Literal

from psycopg.errors import UniqueViolation

from carebot.db.pool import Pool

Role = Literal["admin", "agent"]
MIN_PASSWORD_LENGTH = 10


@cache
def _hasher() -> Any:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    return PasswordHash((Argon2Hasher(),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class OperatorExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts on the desk: an operator's account, or automation with the admin token (`id` None)."""

    id: int | None
    name: str
    email: str | None
    role: str
    created_at: str | None = None
    """When the account was made (ISO 8601); None for automation."""


class OperatorAccounts:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, *, email: str, name: str, role: Role, password: str) -> Operator:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        # Argon2 is slow on purpose: off the event loop.
        hashed = await asyncio.to_thread(_hasher().hash, password)
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO operators (email, name, role, password_hash) VALUES (%s, %s, %s, %s) RETURNING *",
                    (email.strip().lower(), name, role, hashed),
                )
                row = await cur.fetchone()
        except UniqueViolation:
            raise OperatorExists(f"an operator with the email {email} already exists") from None
        assert row is not None
        return _account(row)

    async def list(self) -> list[Operator]:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM operators ORDER BY id")
            return [_account(r) for r in await cur.fetchall()]

    async def authenticate(self, email: str, password: str) -> Operator | None:
        """The operator with these credentials, or None (as slow either way, so timing tells nothing)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM operators WHERE email = %s", (email.strip().lower(),))
            row = await cur.fetchone()
        stored = row["password_hash"] if row else _dummy_hash()
        valid = await asyncio.to_thread(_hasher().verify, password, stored)
        return _account(row) if row and valid else None

    async def start_session(self, operator: Operator, *, lasts: timedelta) -> str:
        """A new session's token (for the cookie); only its hash is stored."""
        if operator.id is None:
            raise ValueError("automation has no sessions")
        token = secrets.token_urlsafe(32)
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO operator_sessions (token_hash, operator_id, expires_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))",
                (_token_hash(token), operator.id, lasts.total_seconds()),
            )
        return token

    async def session_operator(self, token: str) -> Operator | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.* FROM operator_sessions s JOIN operators o ON o.id = s.operator_id"
                " WHERE s.token_hash = %s AND s.expires_at > now()",
                (_token_hash(token),),
            )
            row = await cur.fetchone()
        return _account(row) if row else None

    async def end_session(self, token: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM operator_sessions WHERE token_hash = %s", (_token_hash(token),))


@cache
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def _account(row: dict[str, Any]) -> Operator:
    return Operator(
        id=row["id"], email=row["email"], name=row["name"], role=row["role"], created_at=row["created_at"].isoformat()
    )
