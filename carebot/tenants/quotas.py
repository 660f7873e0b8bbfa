"""A tenant's monthly message quota and per-minute rate limit, counted where messages are stored.

`tenants.messages_per_month` caps the customer messages a shop's assistant answers per calendar
month (UTC); `tenants.messages_per_minute` caps how fast they are taken in. Both count in
`tenant_usage` (one row per period), updated in the transaction that stores the message, so two
processes taking messages at once count each message once. A tenant with neither pays nothing:
no row is written. A disabled tenant takes no messages at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.db.scope import current_tenant
from carebot.tenants.channels import TenantDisabled
from carebot.tenants.registry import TenantRegistry


class RateLimited(Exception):
    """Over the shop's messages per minute (the web chat refuses the message: try again later)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"over the shop's messages per minute: retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Limits:
    per_month: int | None = None
    per_minute: int | None = None

    @property
    def counted(self) -> bool:
        return self.per_month is not None or self.per_minute is not None


NO_LIMITS = Limits()

Verdict = Literal["ok", "over_quota", "over_rate"]


@dataclass(frozen=True, slots=True)
class Usage:
    """A tenant's counts with the message just stored."""

    month: int
    minute: int
    minute_ends_in: float
    """Seconds until this minute's count starts again."""

    def verdict(self, limits: Limits) -> Verdict:
        """Over the monthly quota (the assistant does not answer until next month), over the rate
        (answered later), or within both."""
        if limits.per_month is not None and self.month > limits.per_month:
            return "over_quota"
        if limits.per_minute is not None and self.minute > limits.per_minute:
            return "over_rate"
        return "ok"

    def wait(self, limits: Limits) -> int:
        """Seconds until a message over the rate may be answered: the end of this minute, and a
        minute more per `per_minute` already waiting, so a burst is answered at the limit's pace."""
        per_minute = limits.per_minute or 1
        backlog_minutes = (self.minute - 1) // per_minute  # 0 for the first message over the limit
        return max(1, math.ceil(self.minute_ends_in + 60 * (backlog_minutes - 1)))


# Each period's count moves on by one, starting again when the period changes; `period` is also
# date_trunc's field name. `now()` is the storing transaction's start.
_COUNT = """
UPDATE tenant_usage SET
    messages = CASE WHEN starts_at = date_trunc(period, now(), 'UTC') THEN messages + 1 ELSE 1 END,
    starts_at = date_trunc(period, now(), 'UTC')
WHERE tenant_id = app_tenant()
RETURNING period, messages, extract(epoch FROM starts_at + ('1 ' || period)::interval - now()) AS ends_in
"""
# A tenant's first counted message (a quota set since): the period so far is counted from the
# transcript and the inbox (which hold the message just stored), once.
_START_COUNTING = """
INSERT INTO tenant_usage AS u (period, starts_at, messages)
SELECT p, date_trunc(p, now(), 'UTC'), CASE p
    WHEN 'month' THEN (SELECT count(*) FROM messages
                       WHERE role = 'customer' AND at >= date_trunc('month', now(), 'UTC'))
    ELSE (SELECT count(*) FROM inbox WHERE received_at >= date_trunc('minute', now(), 'UTC')) END
FROM unnest(ARRAY['month', 'minute']) AS p
ON CONFLICT (tenant_id, period) DO UPDATE SET
    messages = CASE WHEN u.starts_at = excluded.starts_at THEN u.messages + 1 ELSE 1 END,
    starts_at = excluded.starts_at
RETURNING period, messages, extract(epoch FROM starts_at + ('1 ' || period)::interval - now()) AS ends_in
"""


async def count_message(conn: AsyncConnection[DictRow]) -> Usage:
    """Count one more message for the running tenant, inside the transaction that stored it."""
    cur = await conn.execute(_COUNT)
    rows = await cur.fetchall()
    if len(rows) < 2:
        cur = await conn.execute(_START_COUNTING)
        rows = await cur.fetchall()
    counts = {row["period"]: row for row in rows}
    return Usage(
        month=counts["month"]["messages"],
        minute=counts["minute"]["messages"],
        minute_ends_in=float(counts["minute"]["ends_in"]),
    )


class Quotas:
    """The running tenant's limits, read through the registry's cache (no query per message)."""

    def __init__(self, registry: TenantRegistry) -> None:
        self._registry = registry

    async def limits(self) -> Limits:
        """The running tenant's limits; raises `TenantDisabled` for a disabled or missing tenant."""
        tenant = await self._registry.get(current_tenant().id)
        if tenant is None or not tenant.enabled:
            raise TenantDisabled("this shop's assistant is disabled")
        if tenant.messages_per_month is None and tenant.messages_per_minute is None:
            return NO_LIMITS
        return Limits(tenant.messages_per_month, tenant.messages_per_minute)
