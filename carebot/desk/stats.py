"""How the bot is doing, from the transcript: conversations and messages, the share the bot
resolved alone, hand-overs by reason, first-response times (bot and people), intents, per day;
and a shop's month against its quota, for the platform's administrators (`tenant_stats`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from carebot.db.pool import Pool
from carebot.db.scope import tenant_scope
from carebot.desk.handover import reason_label
from carebot.tenants.registry import Tenant

# Every query reads the window [now - days, now).
_SUMMARY = """
WITH recent AS (SELECT * FROM messages WHERE at >= now() - make_interval(days => %(days)s))
SELECT
    (SELECT count(DISTINCT thread_id) FROM recent WHERE role = 'customer') AS conversations,
    (SELECT count(*) FROM recent) AS messages,
    (SELECT count(DISTINCT thread_id) FROM recent WHERE meta ->> 'event' = 'handover') AS handed_over
"""
_BY_ROLE = """
SELECT role, count(*) AS n FROM messages WHERE at >= now() - make_interval(days => %(days)s) GROUP BY role
"""
_HANDOVERS = """
SELECT meta ->> 'reason' AS reason, count(*) AS n FROM messages
WHERE at >= now() - make_interval(days => %(days)s) AND meta ->> 'event' = 'handover'
GROUP BY 1 ORDER BY n DESC
"""
_INTENTS = """
SELECT intent, count(*) AS n FROM messages
WHERE at >= now() - make_interval(days => %(days)s) AND role = 'bot' AND intent IS NOT NULL
GROUP BY 1 ORDER BY n DESC
"""
# The bot's: a customer message to the reply that follows it. People's: a hand-over to the
# first operator message after it.
_BOT_FIRST_RESPONSE = """
SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY extract(epoch FROM r.at - c.at)) AS p
FROM messages c
JOIN LATERAL (
    SELECT n.role, n.at FROM messages n WHERE n.thread_id = c.thread_id AND n.id > c.id AND n.role <> 'system'
    ORDER BY n.id LIMIT 1
) r ON r.role = 'bot'
WHERE c.role = 'customer' AND c.at >= now() - make_interval(days => %(days)s)
"""
_HUMAN_FIRST_RESPONSE = """
SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY extract(epoch FROM r.at - h.at)) AS p
FROM messages h
JOIN LATERAL (
    SELECT n.at FROM messages n WHERE n.thread_id = h.thread_id AND n.id > h.id AND n.role = 'operator'
    ORDER BY n.id LIMIT 1
) r ON true
WHERE h.meta ->> 'event' = 'handover' AND h.at >= now() - make_interval(days => %(days)s)
"""
_PER_DAY = """
SELECT d::date AS day,
    count(DISTINCT m.thread_id) FILTER (WHERE m.role = 'customer') AS conversations,
    count(m.id) AS messages,
    count(m.id) FILTER (WHERE m.meta ->> 'event' = 'handover') AS handovers
FROM generate_series(
    (now() - make_interval(days => %(days)s - 1))::date, now()::date, interval '1 day'
) AS d
LEFT JOIN messages m ON m.at::date = d::date AND m.at >= now() - make_interval(days => %(days)s)
GROUP BY 1 ORDER BY 1
"""


class ResponseTimes(BaseModel):
    p50_seconds: float | None
    p95_seconds: float | None


class FirstResponse(BaseModel):
    bot: ResponseTimes
    """From a customer message to the bot's reply."""
    human: ResponseTimes
    """From a hand-over to the first operator message."""


class Day(BaseModel):
    day: date
    conversations: int
    messages: int
    handovers: int


class InboxStats(BaseModel):
    """How the bot did over the last `days` days."""

    days: int
    conversations: int
    messages: int
    messages_by_role: dict[str, int]
    resolved_by_bot_share: float | None
    """The share of conversations never handed over (None: no conversations)."""
    handovers: int
    handovers_by_reason: dict[str, int]
    reason_labels: dict[str, str]
    """Each reason in the inbox's plain words."""
    first_response: FirstResponse
    intents: dict[str, int]
    per_day: list[Day]


def _percentiles(row: dict[str, Any] | None) -> ResponseTimes:
    values = row["p"] if row and row["p"] else [None, None]
    return ResponseTimes(p50_seconds=_round(values[0]), p95_seconds=_round(values[1]))


def _round(value: float | None) -> float | None:
    return round(float(value), 1) if value is not None else None


async def inbox_stats(pool: Pool, *, days: int) -> InboxStats:
    params = {"days": days}
    async with pool.connection() as conn:
        summary = await (await conn.execute(_SUMMARY, params)).fetchone() or {}
        by_role = {r["role"]: r["n"] for r in await (await conn.execute(_BY_ROLE, params)).fetchall()}
        handovers = {
            r["reason"] or "unknown": r["n"] for r in await (await conn.execute(_HANDOVERS, params)).fetchall()
        }
        intents = {r["intent"]: r["n"] for r in await (await conn.execute(_INTENTS, params)).fetchall()}
        bot = await (await conn.execute(_BOT_FIRST_RESPONSE, params)).fetchone()
        human = await (await conn.execute(_HUMAN_FIRST_RESPONSE, params)).fetchone()
        per_day = await (await conn.execute(_PER_DAY, params)).fetchall()
    conversations = int(summary.get("conversations") or 0)
    handed_over = int(summary.get("handed_over") or 0)
    return InboxStats(
        days=days,
        conversations=conversations,
        messages=int(summary.get("messages") or 0),
        messages_by_role=by_role,
        resolved_by_bot_share=round(1 - handed_over / conversations, 3) if conversations else None,
        handovers=handed_over,
        handovers_by_reason=handovers,
        reason_labels={reason: reason_label(reason) for reason in handovers},
        first_response=FirstResponse(bot=_percentiles(bot), human=_percentiles(human)),
        intents=intents,
        per_day=[Day.model_validate(r) for r in per_day],
    )


# A shop's calendar month (UTC) so far, from its transcript and its actions: customer messages are
# what the quota counts (`tenants/quotas.py` keeps its own counter, which starts with these).
_TENANT_MONTH = """
WITH month AS (SELECT date_trunc('month', now(), 'UTC') AS starts_at)
SELECT (SELECT starts_at FROM month) AS month_start,
    (SELECT count(*) FROM messages WHERE role = 'customer' AND at >= (SELECT starts_at FROM month)) AS messages,
    (SELECT count(DISTINCT thread_id) FROM messages
     WHERE role = 'customer' AND at >= (SELECT starts_at FROM month)) AS conversations,
    (SELECT count(*) FROM messages
     WHERE meta ->> 'event' = 'handover' AND at >= (SELECT starts_at FROM month)) AS handovers,
    (SELECT count(*) FROM order_actions WHERE at >= (SELECT starts_at FROM month))
    + (SELECT count(*) FROM order_api_requests WHERE at >= (SELECT starts_at FROM month)) AS actions,
    (SELECT count(*) FROM conversations WHERE status <> 'bot') AS with_people
"""


class TenantStats(BaseModel):
    """A shop's calendar month (UTC) so far, against its quota."""

    tenant_id: str
    slug: str
    month_start: datetime
    messages: int
    """Customer messages received this month (what `messages_per_month` counts)."""
    messages_per_month: int | None
    """The quota; None: none."""
    quota_used_share: float | None
    """messages / quota (over 1 once the assistant stopped answering); None without a quota."""
    messages_per_minute: int | None
    conversations: int
    """Conversations with a customer message this month."""
    handovers: int
    """Hand-overs to the shop's people this month."""
    actions: int
    """Actions on orders done (or sent to the shop's order API) this month."""
    with_people: int
    """Conversations waiting for or with a person now."""
    disabled: bool


async def tenant_stats(pool: Pool, tenant: Tenant) -> TenantStats:
    """`tenant`'s month so far, read in its own scope (the platform's admin API and
    `carebot tenants show` call it from outside any)."""
    with tenant_scope(tenant.ref):
        async with pool.connection() as conn:
            row = await (await conn.execute(_TENANT_MONTH)).fetchone()
    assert row is not None
    quota = tenant.messages_per_month
    return TenantStats(
        tenant_id=str(tenant.id),
        slug=tenant.slug,
        month_start=row["month_start"],
        messages=row["messages"],
        messages_per_month=quota,
        quota_used_share=round(row["messages"] / quota, 3) if quota else None,
        messages_per_minute=tenant.messages_per_minute,
        conversations=row["conversations"],
        handovers=row["handovers"],
        actions=row["actions"],
        with_people=row["with_people"],
        disabled=not tenant.enabled,
    )
