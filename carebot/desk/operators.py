"""The operators: accounts (passwords hashed with Argon2 through pwdlib), the shops they work in,
and the sessions of their browsers. Used by `carebot operators …` and by the operator app's sign-in.

One login may work in several shops (tenants): `operator_memberships` holds a role per shop (admin
or agent), and each browser session holds the shop it works in now (`operator_sessions.tenant_id`,
the tenant picker's choice). `operators.role` is legacy: the role in the shop the account was first
added to; what an operator may do is the role of their membership in the session's shop.

Sign-in is throttled like the one-time codes: past `SIGN_INS_PER_ACCOUNT` unsuccessful tries of
one email, or `SIGN_INS_PER_CLIENT` from one client address, within `SIGN_IN_WINDOW`, it is
refused without checking the password until the oldest of them ages out. An email with no
account is counted and answered the same way as one with an account (after as long: a dummy
hash is checked), so neither the answer nor its timing tells whether an account exists."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, Literal
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.db.scope import TenantRef, current_tenant

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
class Shop:
    """A shop (tenant) an operator works in, with their role there."""

    tenant_id: UUID
    slug: str
    name: str
    role: Role

    @property
    def ref(self) -> TenantRef:
        return TenantRef(self.tenant_id, self.slug)


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts on the desk: an operator's account, or automation with the admin token (`id` None)."""

    id: int | None
    name: str
    email: str | None
    role: str
    """The role in the shop worked in (`shop`); for an account read outside a shop, the legacy
    `operators.role`."""
    created_at: str | None = None
    """When the account was made (ISO 8601); None for automation."""
    shop: Shop | None = None
    """The shop this request works in (a signed-in session's choice, or the admin token's)."""
    platform_admin: bool = False


class OperatorAccounts:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, *, email: str, name: str, role: Role, password: str) -> Operator:
        """A new account working in the current shop with `role`. For an email that already has an
        account, given its password, the account joins the current shop instead (one login, several
        shops); OperatorExists for a wrong password or an account already in this shop."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        email = email.strip().lower()
        if await self._exists(email):
            if await self.authenticate(email, password) is None:
                raise OperatorExists(
                    f"an operator with the email {email} already exists: give their password to add them"
                    " to this shop as well"
                )
            return await self.grant(email, role, replace=False)
        # Argon2 is slow on purpose: off the event loop.
        hashed = await asyncio.to_thread(_hasher().hash, password)
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(
                    "INSERT INTO operators (email, name, role, password_hash) VALUES (%s, %s, %s, %s) RETURNING *",
                    (email, name, role, hashed),
                )
                row = await cur.fetchone()
                assert row is not None
                await conn.execute(
                    "INSERT INTO operator_memberships (operator_id, tenant_id, role) VALUES (%s, %s, %s)",
                    (row["id"], current_tenant().id, role),
                )
        except UniqueViolation:
            raise OperatorExists(f"an operator with the email {email} already exists") from None
        return _account({**row, "role": role})

    async def _exists(self, email: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM operators WHERE email = %s", (email,))
            return await cur.fetchone() is not None

    async def grant(self, email: str, role: Role, *, replace: bool = True) -> Operator:
        """The existing account `email` works in the current shop with `role` (with `replace`, an
        existing membership takes the new role; without, OperatorExists). LookupError: no account."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT * FROM operators WHERE email = %s", (email.strip().lower(),))
            row = await cur.fetchone()
            if row is None:
                raise LookupError(f"no operator with the email {email}")
            cur = await conn.execute(
                "INSERT INTO operator_memberships (operator_id, tenant_id, role) VALUES (%s, %s, %s)"
                " ON CONFLICT (operator_id, tenant_id) DO UPDATE SET role = excluded.role WHERE %s"
                " RETURNING role",
                (row["id"], current_tenant().id, role, replace),
            )
            if await cur.fetchone() is None:
                raise OperatorExists(f"an operator with the email {email} already exists in this shop")
        return _account({**row, "role": role})

    async def revoke(self, email: str) -> bool:
        """The account no longer works in the current shop (its sessions there end at their next
        request); False when it did not. The login stays, for its other shops."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM operator_memberships m USING operators o WHERE o.id = m.operator_id"
                " AND o.email = %s AND m.tenant_id = %s RETURNING m.operator_id",
                (email.strip().lower(), current_tenant().id),
            )
            return await cur.fetchone() is not None

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

    async def shops(self, operator_id: int) -> builtins.list[Shop]:
        """The enabled shops the operator works in: the one used last first, then by name."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT m.tenant_id, m.role, t.slug, t.name FROM operator_memberships m"
                " JOIN tenants t ON t.id = m.tenant_id WHERE m.operator_id = %s AND t.disabled_at IS NULL"
                " ORDER BY m.last_used_at DESC NULLS LAST, t.name, t.slug",
                (operator_id,),
            )
            return [_shop(row) for row in await cur.fetchall()]

    async def start_session(self, operator: Operator, *, lasts: timedelta, shop: Shop | None = None) -> str:
        """A new session's token (for the cookie), working in `shop`; only its hash is stored."""
        if operator.id is None:
            raise ValueError("automation has no sessions")
        token = secrets.token_urlsafe(32)
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO operator_sessions (token_hash, operator_id, expires_at, tenant_id)"
                " VALUES (%s, %s, now() + make_interval(secs => %s), %s)",
                (_token_hash(token), operator.id, lasts.total_seconds(), shop.tenant_id if shop else None),
            )
            if shop is not None:
                await _mark_used(conn, operator.id, shop.tenant_id)
        return token

    async def session_operator(self, token: str) -> Operator | None:
        """The session's operator, working in the session's shop (`shop`, with their role there).

        A session whose shop the operator no longer works in (or that was disabled) moves to the
        one they used last; `shop` is None when they work in none."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SESSION_IN_SHOP, (_token_hash(token),))
            row = await cur.fetchone()
            if row is None:
                return None
            if row["shop_id"] is not None and row["shop_id"] != row["session_tenant"]:
                await conn.execute(
                    "UPDATE operator_sessions SET tenant_id = %s WHERE token_hash = %s",
                    (row["shop_id"], _token_hash(token)),
                )
        shop = None
        if row["shop_id"] is not None:
            shop = Shop(tenant_id=row["shop_id"], slug=row["shop_slug"], name=row["shop_name"], role=row["shop_role"])
        account = _account(row)
        return Operator(
            id=account.id,
            name=account.name,
            email=account.email,
            role=shop.role if shop else account.role,
            created_at=account.created_at,
            shop=shop,
            platform_admin=account.platform_admin,
        )

    async def switch(self, token: str, tenant: str) -> Shop | None:
        """The session works in `tenant` (its slug or id) from now on; None, and nothing changed,
        when the session's operator does not work there (or it is disabled)."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT s.operator_id, m.tenant_id, m.role, t.slug, t.name FROM operator_sessions s"
                " JOIN operator_memberships m ON m.operator_id = s.operator_id JOIN tenants t ON t.id = m.tenant_id"
                " WHERE s.token_hash = %s AND s.expires_at > now() AND t.disabled_at IS NULL"
                " AND (t.slug = %s OR t.id::text = %s)",
                (_token_hash(token), tenant, tenant.lower()),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute(
                "UPDATE operator_sessions SET tenant_id = %s WHERE token_hash = %s",
                (row["tenant_id"], _token_hash(token)),
            )
            await _mark_used(conn, row["operator_id"], row["tenant_id"])
        return _shop(row)

    async def end_session(self, token: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM operator_sessions WHERE token_hash = %s", (_token_hash(token),))


# The session's operator and the shop it works in: the session's own choice while the operator
# still works there and the shop is enabled, else the shop they used last (then by name).
_SESSION_IN_SHOP = """
SELECT o.*, s.tenant_id AS session_tenant, m.tenant_id AS shop_id, m.role AS shop_role, m.slug AS shop_slug,
    m.name AS shop_name
FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
LEFT JOIN LATERAL (
    SELECT m.tenant_id, m.role, t.slug, t.name FROM operator_memberships m JOIN tenants t ON t.id = m.tenant_id
    WHERE m.operator_id = o.id AND t.disabled_at IS NULL
    ORDER BY m.tenant_id IS NOT DISTINCT FROM s.tenant_id DESC, m.last_used_at DESC NULLS LAST, t.name, t.slug
    LIMIT 1
) m ON true
WHERE s.token_hash = %s AND s.expires_at > now()
"""


async def _mark_used(conn: AsyncConnection[DictRow], operator_id: int, tenant_id: UUID) -> None:
    """The shop an operator's next sign-in opens in."""
    await conn.execute(
        "UPDATE operator_memberships SET last_used_at = now() WHERE operator_id = %s AND tenant_id = %s",
        (operator_id, tenant_id),
    )


def _shop(row: dict[str, Any]) -> Shop:
    return Shop(tenant_id=row["tenant_id"], slug=row["slug"], name=row["name"], role=row["role"])


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
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        created_at=row["created_at"].isoformat(),
        platform_admin=bool(row.get("platform_admin", False)),
    )
