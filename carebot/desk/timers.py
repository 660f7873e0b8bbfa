"""The hand-over timers, run by the job queue's sweep (any worker, once): customers nobody took
within `HANDOFF_WAIT_MINUTES` are told, once, in their language; conversations no operator wrote
in for `HANDOFF_IDLE_HOURS` go back to the bot; those whose operator signed out wait again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from psycopg.rows import class_row

from carebot.db.pool import Pool
from carebot.delivery.channels.errors import CannotSend
from carebot.delivery.channels.registry import Channels
from carebot.delivery.outgoing import say
from carebot.desk import status
from carebot.desk.replies import ADDRESSEE_COLUMNS, Addressee, Sends, reply_target
from carebot.desk.status import ConversationStatus
from carebot.phrases import phrase

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverTimers:
    pool: Pool
    channels: Channels
    conversations: ConversationStatus
    jobs: Sends
    wait: timedelta
    """Tell a customer nobody took within this that they wait (`HANDOFF_WAIT_MINUTES`)."""
    idle: timedelta
    """Give a conversation no operator wrote in for this back to the bot (`HANDOFF_IDLE_HOURS`)."""
    support_hours: str | None = None
    shop_name: str = ""

    async def run(self) -> None:
        await self.tell_long_waits()
        await self.conversations.return_idle(idle=self.idle)
        await self.conversations.release()

    async def tell_long_waits(self) -> list[str]:
        """Customers nobody took within the wait get one message in their language (with the
        team's hours when configured); the conversation stays waiting. Returns the threads told."""
        async with self.pool.connection() as conn:
            cur = await conn.cursor(row_factory=class_row(Addressee)).execute(
                f"SELECT {ADDRESSEE_COLUMNS} FROM conversations WHERE status = 'waiting' AND waiting_notice_at IS NULL"
                " AND waiting_since < now() - make_interval(secs => %s)",
                (self.wait.total_seconds(),),
            )
            waiting = await cur.fetchall()
        told: list[str] = []
        for conversation in waiting:
            thread_id = conversation.thread_id
            text = phrase(conversation.language, "handoff_wait", shop=self.shop_name)
            if self.support_hours:
                text += " " + phrase(conversation.language, "support_hours", hours=self.support_hours)
            async with self.pool.connection() as conn, conn.transaction():
                if not await status.claim_wait_notice(conn, thread_id):
                    continue  # taken, or told, meanwhile
                try:
                    target = await reply_target(conn, self.channels, conversation, free_text=True)
                except CannotSend:
                    target = None  # the window closed: nothing can reach them now; noted in the transcript
                said = await say(
                    conn,
                    channel=self.channels[conversation.channel],
                    thread_id=thread_id,
                    role="bot",
                    text=text,
                    target=target,
                    meta={"event": "wait_notice"},
                )
            if said.queued:
                await self.jobs.send_soon(thread_id)
            told.append(thread_id)
            log.info("wait_notice_sent", extra={"thread_id": thread_id})
        return told
