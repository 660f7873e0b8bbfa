"""Bounded storage. LangGraph's Postgres saver keeps every checkpoint forever (its `prune` is not
implemented upstream), so the app keeps each thread's latest checkpoints and deletes the rest,
with their pending writes and the blobs no surviving checkpoint refers to."""

from __future__ import annotations

import logging

from psycopg import sql

from carebot.db.pool import Pool
from carebot.db.scope import current_tenant

log = logging.getLogger(__name__)

# One statement (one round trip per turn): the checkpoints to keep are chosen once, and the
# older ones go with their writes and the blobs no kept checkpoint refers to (a blob is a
# channel's value at one version; a checkpoint lists the versions it uses).
_PRUNE_THREAD = """
WITH kept AS (
    SELECT checkpoint_ns, checkpoint_id, checkpoint FROM (
        SELECT checkpoint_ns, checkpoint_id, checkpoint,
            row_number() OVER (PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS newest
        FROM checkpoints WHERE thread_id = %(thread)s
    ) ranked WHERE newest <= %(keep)s
), old_checkpoints AS (
    DELETE FROM checkpoints c WHERE c.thread_id = %(thread)s
    AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.checkpoint_ns = c.checkpoint_ns AND k.checkpoint_id = c.checkpoint_id)
), old_writes AS (
    DELETE FROM checkpoint_writes w WHERE w.thread_id = %(thread)s
    AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.checkpoint_ns = w.checkpoint_ns AND k.checkpoint_id = w.checkpoint_id)
)
DELETE FROM checkpoint_blobs b WHERE b.thread_id = %(thread)s
AND NOT EXISTS (
    SELECT 1 FROM kept k
    WHERE k.checkpoint_ns = b.checkpoint_ns AND k.checkpoint -> 'channel_versions' ->> b.channel = b.version
)
"""


async def prune_thread(pool: Pool, thread_id: str, *, keep: int) -> None:
    """Keep the thread's `keep` latest checkpoints (per namespace) and what they need."""
    async with pool.connection() as conn:
        await conn.execute(_PRUNE_THREAD, {"thread": thread_id, "keep": keep})


async def delete_idle_threads(pool: Pool, *, idle_days: float) -> int:
    """Delete the current tenant's conversations whose latest checkpoint is older than `idle_days`;
    return how many. Checkpoints carry no tenant column (LangGraph's tables): the tenant's threads
    are those whose id starts with its id."""
    prefix = f"{current_tenant().id}:"
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT thread_id FROM checkpoints WHERE starts_with(thread_id, %s) GROUP BY thread_id"
            " HAVING max((checkpoint ->> 'ts')::timestamptz) < now() - make_interval(secs => %s)",
            (prefix, idle_days * 86400),
        )
        threads = [r["thread_id"] for r in await cur.fetchall()]
        for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
            await conn.execute(
                sql.SQL("DELETE FROM {} WHERE thread_id = ANY(%s)").format(sql.Identifier(table)), (threads,)
            )
    if threads:
        log.info("idle_threads_deleted", extra={"threads": len(threads)})
    return len(threads)


async def delete_old_messages(pool: Pool, *, older_than_days: float) -> int:
    """Delete inbox rows (and their outbox rows) older than the retention, once settled, and
    settled outbox rows of their own (operator messages, hand-over notifications)."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "DELETE FROM inbox WHERE received_at < now() - make_interval(secs => %s)"
            " AND status <> 'pending' AND NOT EXISTS"
            " (SELECT 1 FROM outbox o WHERE o.inbox_id = inbox.id AND o.status IN ('pending', 'sending'))",
            (older_than_days * 86400,),
        )
        deleted = cur.rowcount
        await conn.execute(
            "DELETE FROM outbox WHERE inbox_id IS NULL AND created_at < now() - make_interval(secs => %s)"
            " AND status NOT IN ('pending', 'sending')",
            (older_than_days * 86400,),
        )
    if deleted:
        log.info("old_messages_deleted", extra={"messages": deleted})
    return deleted


async def delete_old_transcripts(pool: Pool, *, older_than_days: float) -> int:
    """Delete conversations (with their transcripts) with no message for `older_than_days`; the
    operator transcript has its own retention, longer than the inbox's."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM conversations WHERE last_message_at < now() - make_interval(secs => %s) AND status = 'bot'",
            (older_than_days * 86400,),
        )
        deleted = cur.rowcount
    if deleted:
        log.info("old_transcripts_deleted", extra={"conversations": deleted})
    return deleted


# Live views resume from the last event they saw; a day covers any reconnect.
EVENTS_KEPT_HOURS = 24


async def delete_old_events(pool: Pool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM events WHERE at < now() - make_interval(hours => %s)", (EVENTS_KEPT_HOURS,)
        )
        return cur.rowcount


async def delete_expired_operator_sessions(pool: Pool) -> int:
    """Sessions past their expiry sign nobody in; their rows go."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM operator_sessions WHERE expires_at < now()")
        return cur.rowcount


# A Discord interaction token lets anyone holding it post in the user's channel for 15 minutes:
# the inbox drops it once that life is over.
DISCORD_TOKEN_LIFE_MINUTES = 15


async def forget_expired_interaction_tokens(pool: Pool) -> int:
    """Remove Discord interaction tokens older than their 15-minute life; return how many."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE inbox SET payload = payload - 'token' WHERE channel = 'discord' AND payload ? 'token'"
            " AND received_at < now() - make_interval(mins => %s)",
            (DISCORD_TOKEN_LIFE_MINUTES,),
        )
        forgotten = cur.rowcount
    if forgotten:
        log.info("interaction_tokens_forgotten", extra={"count": forgotten})
    return forgotten
