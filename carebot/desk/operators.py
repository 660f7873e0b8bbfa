"""The shop's operators: accounts (passwords hashed with Argon2 through pwdlib) and the sessions
of their browsers. Used by `carebot operators …` and by the operator app's sign-in.

Sign-in is throttled like the one-time codes: past `SIGN_INS_PER_ACCOUNT` unsuccessful tries of
one email, or `SIGN_INS_PER_CLIENT` from one client address, within `SIGN_IN_WINDOW`, it is
refused without checking the password until the oldest of them ages out. An email with no
account is counted and answered the same way as one with an account (after as long: a dummy
hash is checked), so neither the answer nor its timing tells whether an account exists."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.db.scope import current_tenant

Role = Literal["admin", "agent"]
MIN_PASSWORD_LENGTH = 10
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_INS_PER_ACCOUNT = 5
# Several operators may share an office's address: more, but still few enough to stop guessing.
SIGN_INS_PER_CLIENT = 20


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
class SignInThrottled:
    """Too many unsuccessful sign-ins of this email or from this client address."""

    retry_after: int
    """Seconds until a try is allowed again."""


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
                assert row is not None
                await conn.execute(
                    "INSERT INTO operator_memberships (operator_id, tenant_id, role) VALUES (%s, %s, %s)",
                    (row["id"], current_tenant().id, role),
                )
        except UniqueViolation:
            raise OperatorExists(f"an operator with the email {email} already exists") from None
        assert row is not None
        return _account(row)

    async def list(self) -> list[Operator]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.*, m.role FROM operators o JOIN operator_memberships m ON m.operator_id = o.id"
                " WHERE m.tenant_id = %s ORDER BY o.id",
                (current_tenant().id,),
            )
            return [_account(r) for r in await cur.fetchall()]

    async def authenticate(self, email: str, password: str) -> Operator | None:
        """The operator with these credentials, or None (as slow either way, so timing tells nothing)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM operators WHERE email = %s", (email.strip().lower(),))
            row = await cur.fetchone()
        stored = row["password_hash"] if row else _dummy_hash()
        valid = await asyncio.to_thread(_hasher().verify, password, stored)
        return _account(row) if row and valid else None

    async def sign_in(self, email: str, password: str, *, client: str) -> Operator | SignInThrottled | None:
        """The operator with these credentials, None for wrong ones, or `SignInThrottled` (the
        password unchecked) past the limits above. `client` is the client's address.

        The try is recorded before the limits are read, so parallel guesses cannot pass them;
        a refused try is not recorded (the refusal lasts until the counted tries age out), and
        a success forgets its email's tries."""
        email = email.strip().lower()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO operator_sign_in_attempts (email, client) VALUES (%s, %s) RETURNING id", (email, client)
            )
            row = await cur.fetchone()
            assert row is not None
            attempt = row["id"]
            wait = await _throttled_for(conn, email=email, client=client)
            if wait is not None:
                await conn.execute("DELETE FROM operator_sign_in_attempts WHERE id = %s", (attempt,))
                return SignInThrottled(retry_after=wait)
        account = await self.authenticate(email, password)
        async with self._pool.connection() as conn:
            if account is not None:
                await conn.execute("DELETE FROM operator_sign_in_attempts WHERE email = %s", (email,))
            await conn.execute(
                "DELETE FROM operator_sign_in_attempts WHERE attempted_at < now() - %s", (SIGN_IN_WINDOW,)
            )
        return account

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


async def _throttled_for(conn: AsyncConnection[DictRow], *, email: str, client: str) -> int | None:
    """Seconds until this email and this client are under their limits again (the try just
    recorded included), or None if they are now."""
    cur = await conn.execute(
        # The try that must age out first: the one a limit's worth of tries before the newest.
        "SELECT ceil(extract(epoch FROM greatest("
        "  (SELECT attempted_at FROM operator_sign_in_attempts WHERE email = %(email)s"
        "    AND attempted_at > now() - %(window)s ORDER BY attempted_at DESC, id DESC OFFSET %(per_account)s LIMIT 1),"
        "  (SELECT attempted_at FROM operator_sign_in_attempts WHERE client = %(client)s"
        "    AND attempted_at > now() - %(window)s ORDER BY attempted_at DESC, id DESC OFFSET %(per_client)s LIMIT 1)"
        ") + %(window)s - now())) AS wait",
        {
            "email": email,
            "client": client,
            "window": SIGN_IN_WINDOW,
            "per_account": SIGN_INS_PER_ACCOUNT,
            "per_client": SIGN_INS_PER_CLIENT,
        },
    )
    row = await cur.fetchone()
    return max(1, int(row["wait"])) if row and row["wait"] is not None else None


@cache
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def _account(row: dict[str, Any]) -> Operator:
    return Operator(
        id=row["id"], email=row["email"], name=row["name"], role=row["role"], created_at=row["created_at"].isoformat()
    )
