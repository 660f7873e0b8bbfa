"""Handing a conversation to the shop's people: the status change, the system line in the
transcript, and the notification to the team's webhook (sent through the outbox, so it is
retried like any outbound message and never holds up the customer's own replies)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.delivery.outbox import enqueue
from carebot.desk.transcript import add_message

# What the inbox shows as the reason, in the shop's words.
REASON_LABELS = {
    "human_requested": "asked for a person",
    "negative_sentiment": "is upset",
    "low_relevance": "asked something the help centre does not answer",
    "guardrail": "needs an answer the bot could not check",
    "order_unavailable": "asked about an order while the order system was down",
    "verification_failed": "could not verify their account",
    "repeated_question": "asked the same thing three times",
}

# Notifications are sent as the outbox "thread" `handoff:<thread id>`: ordered among themselves,
# apart from the customer's messages, so a team webhook that is down delays only itself.
NOTIFICATION_PREFIX = "handoff:"
WEBHOOK_CHANNEL = "webhook"


def reason_label(reason: str | None) -> str:
    return REASON_LABELS.get(reason or "", reason or "needs a person")


@dataclass(frozen=True, slots=True)
class HandoffWebhook:
    """`HANDOFF_WEBHOOK_URL`: Slack-compatible `{"text"}` plus the details as JSON."""

    url: str
    admin_url: str
    """Where the operator app lives (`PUBLIC_BASE_URL/admin`), for the link."""

    def body(self, *, thread_id: str, channel: str, reason: str, detail: str | None) -> str:
        link = f"{self.admin_url}#/conversations/{thread_id}"
        return json.dumps(
            {
                "text": f"A {channel} customer {reason_label(reason)}. Take over: {link}",
                "conversation_id": thread_id,
                "channel": channel,
                "reason": reason,
                "detail": detail,
                "link": link,
            }
        )

    async def enqueue(
        self, conn: AsyncConnection[DictRow], *, thread_id: str, channel: str, reason: str, detail: str | None
    ) -> None:
        await enqueue(
            conn,
            thread_id=NOTIFICATION_PREFIX + thread_id,
            channel=WEBHOOK_CHANNEL,
            recipient=self.url,
            parts=[self.body(thread_id=thread_id, channel=channel, reason=reason, detail=detail)],
        )


async def hand_over(
    conn: AsyncConnection[DictRow],
    *,
    thread_id: str,
    reason: str,
    detail: str | None,
    webhook: HandoffWebhook | None,
) -> bool:
    """Move a conversation the bot had to `waiting` (inside the caller's transaction): the reason
    recorded, a system line in the transcript, the team notified. False if it was not the bot's."""
    cur = await conn.execute(
        "UPDATE conversations SET status = 'waiting', reason = %s, reason_detail = %s, waiting_since = now(),"
        " waiting_notice_at = NULL, assignee_id = NULL, handovers = handovers + 1, unread = greatest(unread, 1)"
        " WHERE thread_id = %s AND status = 'bot' RETURNING channel",
        (reason, detail, thread_id),
    )
    row = await cur.fetchone()
    if row is None:
        return False
    await add_message(
        conn,
        thread_id=thread_id,
        role="system",
        text=f"Handed over: the customer {reason_label(reason)}.",
        meta={"event": "handover", "reason": reason, "detail": detail},
    )
    if webhook is not None:
        await webhook.enqueue(conn, thread_id=thread_id, channel=row["channel"], reason=reason, detail=detail)
    return True
