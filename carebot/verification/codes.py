"""One-time codes: sent to the email or phone number on file (never to one the customer typed
that is not on file), single use, expiring, and limited per sender and per account across
threads. A right code records a verified link for the sender, which lasts `LINK_TTL`."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.domain import Customer
from carebot.phrases import phrase
from carebot.shop.orders import OrderSource, OrderSourceUnavailable
from carebot.verification.delivery import DeliveryFailed, Mailer, TwilioVerify
from carebot.verification.types import CheckResult, SendOutcome

log = logging.getLogger(__name__)
Connection = AsyncConnection[DictRow]

CODE_TTL = timedelta(minutes=10)
TRIES_PER_CODE = 5
# Across all threads, so that new conversations (or new web sessions) buy no new guesses.
CODES_PER_HOUR = 5
WRONG_CODES_PER_DAY = 10
LINK_TTL = timedelta(days=30)


class OneTimeCodes:
    """The `IdentityVerifier` of the running app, on the database and a way to deliver codes:
    Twilio Verify when configured, else our own codes through `mailer` (SMTP or the dev mailbox)."""

    def __init__(
        self,
        pool: Pool,
        orders: OrderSource,
        *,
        key: bytes,
        shop_name: str,
        verify: TwilioVerify | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self._pool = pool
        self._orders = orders
        self._key = key
        self._shop_name = shop_name
        self._verify = verify
        self._mailer = mailer

    async def verified_customer(self, conversation: str) -> int | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT customer_id FROM verified_links WHERE sender_key = %s AND expires_at > now()", (conversation,)
            )
            row = await cur.fetchone()
        return int(row["customer_id"]) if row else None

    async def send_code(self, conversation: str, *, contact: str, language: str) -> SendOutcome:
        if self._verify is None and self._mailer is None:
            log.warning("verification_not_configured", extra={"thread_id": conversation})
            return "unavailable"
        kind = "email" if "@" in contact else "phone"
        try:
            customer = await self._orders.customer_by_contact(contact)
        except OrderSourceUnavailable:
            return "unavailable"
        customer_id = customer.id if customer else None
        async with self._pool.connection() as conn, conn.transaction():
            # One sender at a time, so that parallel requests cannot both pass the limit.
            await conn.execute("SELECT pg_advisory_xact_lock(7310423, hashtext(%s))", (conversation,))
            if await self._over_limits(conn, conversation, customer_id):
                log.info("verification_throttled", extra={"thread_id": conversation})
                return "throttled"
            code = f"{secrets.randbelow(10**6):06d}"
            own = self._verify is None
            cur = await conn.execute(
                "INSERT INTO verification_codes"
                " (sender_key, customer_id, contact_kind, delivery, code_hash, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, now() + %s) RETURNING id",
                (
                    conversation,
                    customer_id,
                    kind,
                    "own" if own else "twilio_verify",
                    self._hash(conversation, code) if own and customer else None,
                    CODE_TTL,
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        if customer is None:
            return "sent"  # the same answer as for a real account: nothing tells them apart
        try:
            await self._deliver(customer, kind, code, language)
        except DeliveryFailed as exc:
            log.error("verification_delivery_failed", extra={"thread_id": conversation, "error": str(exc)})
            async with self._pool.connection() as conn:
                await conn.execute("UPDATE verification_codes SET expires_at = now() WHERE id = %s", (row["id"],))
            return "unavailable"
        log.info("verification_code_sent", extra={"thread_id": conversation, "contact_kind": kind})
        return "sent"

    async def check_code(self, conversation: str, code: str) -> CheckResult:
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT *, expires_at <= now() AS expired FROM verification_codes"
                " WHERE sender_key = %s ORDER BY id DESC LIMIT 1 FOR UPDATE",
                (conversation,),
            )
            row = await cur.fetchone()
            if row is None or row["used_at"] is not None or row["expired"]:
                return CheckResult("expired")
            if row["tries"] >= TRIES_PER_CODE or await self._failures_today(conn, conversation, row["customer_id"]) >= (
                WRONG_CODES_PER_DAY
            ):
                return CheckResult("locked")
            # The try is spent before the check, so parallel guesses cannot exceed the limit.
            await conn.execute("UPDATE verification_codes SET tries = tries + 1 WHERE id = %s", (row["id"],))
        right = row["customer_id"] is not None and await self._is_right(row, conversation, code)
        async with self._pool.connection() as conn, conn.transaction():
            if right:
                await conn.execute("UPDATE verification_codes SET used_at = now() WHERE id = %s", (row["id"],))
                await conn.execute(
                    "INSERT INTO verified_links (sender_key, customer_id, expires_at) VALUES (%s, %s, now() + %s)"
                    " ON CONFLICT (tenant_id, sender_key) DO UPDATE SET customer_id = excluded.customer_id,"
                    " verified_at = now(), expires_at = excluded.expires_at",
                    (conversation, row["customer_id"], LINK_TTL),
                )
                log.info("verification_succeeded", extra={"thread_id": conversation})
                return CheckResult("verified", customer_id=int(row["customer_id"]))
            await conn.execute(
                "INSERT INTO verification_failures (sender_key, customer_id) VALUES (%s, %s)",
                (conversation, row["customer_id"]),
            )
            failures = await self._failures_today(conn, conversation, row["customer_id"])
        log.info("verification_code_wrong", extra={"thread_id": conversation})
        if row["tries"] + 1 >= TRIES_PER_CODE or failures >= WRONG_CODES_PER_DAY:
            return CheckResult("locked")
        return CheckResult("wrong")

    async def forget(self, conversation: str) -> None:
        """Delete what a conversation left here (evaluation threads are deleted after each case)."""
        async with self._pool.connection() as conn, conn.transaction():
            for table in ("verification_codes", "verification_failures", "verified_links"):
                await conn.execute(f"DELETE FROM {table} WHERE sender_key = %s", (conversation,))  # type: ignore[arg-type]

    async def aclose(self) -> None:
        if self._verify is not None:
            await self._verify.aclose()

    def _hash(self, conversation: str, code: str) -> str:
        # Keyed: a leaked table does not give the codes away by trying all million.
        return hmac.new(self._key, f"{conversation}:{code}".encode(), hashlib.sha256).hexdigest()

    async def _is_right(self, row: DictRow, conversation: str, code: str) -> bool:
        if row["delivery"] == "own":
            return hmac.compare_digest(self._hash(conversation, code), str(row["code_hash"]))
        assert self._verify is not None
        customer = await self._orders.customer_by_id(int(row["customer_id"]))
        if customer is None:
            return False
        try:
            return await self._verify.check(to=_address(customer, str(row["contact_kind"])), code=code)
        except DeliveryFailed:
            return False

    async def _deliver(self, customer: Customer, kind: str, code: str, language: str) -> None:
        if self._verify is not None:
            await self._verify.start(to=_address(customer, kind), contact_kind=kind, language=language)
            return
        assert self._mailer is not None
        # Our own codes go by email: to the address on file, whichever contact named the account.
        await self._mailer.send(
            to=customer.email,
            subject=phrase(language, "code_subject", shop=self._shop_name),
            body=phrase(language, "code_body", shop=self._shop_name, code=code),
        )

    async def _over_limits(self, conn: Connection, conversation: str, customer_id: int | None) -> bool:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM verification_codes WHERE created_at > now() - interval '1 hour'"
            " AND (sender_key = %s OR customer_id = %s)",
            (conversation, customer_id),
        )
        row = await cur.fetchone()
        codes = int(row["n"]) if row else 0
        return codes >= CODES_PER_HOUR or await self._failures_today(conn, conversation, customer_id) >= (
            WRONG_CODES_PER_DAY
        )

    @staticmethod
    async def _failures_today(conn: Connection, conversation: str, customer_id: object) -> int:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM verification_failures WHERE failed_at > now() - interval '1 day'"
            " AND (sender_key = %s OR customer_id = %s)",
            (conversation, customer_id),
        )
        row = await cur.fetchone()
        return int(row["n"]) if row else 0


def _address(customer: Customer, kind: str) -> str:
    """Where a code goes: the phone on file when a phone named the account (and there is one)."""
    return customer.phone if kind == "phone" and customer.phone else customer.email
