"""Handing a conversation to the shop's people: the reasons in the shop's words, and the
notification to the team's webhook (sent through the outbox, so it is retried like any outbound
message and never holds up the customer's own replies). The status change is `status.hand_over`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.delivery.channels.webhook import WEBHOOK_CHANNEL
from carebot.delivery.outbox import enqueue
from carebot.domain import EscalationReason

# What the inbox shows as the reason, in the shop's words.
REASON_LABELS: dict[EscalationReason, str] = {
    "human_requested": "asked for a person",
    "negative_sentiment": "is upset",
    "low_relevance": "asked something the help centre does not answer",
    "guardrail": "needs an answer the bot could not check",
    "order_unavailable": "asked about an order while the order system was down",
    "verification_failed": "could not verify their account",
    "repeated_question": "asked the same thing three times",
    "action_rejected": "asked for a change the shop's order system refused",
    "quota_exceeded": "wrote after the shop's monthly message quota was used up",
}

# Notifications are sent as the outbox "thread" `handoff:<thread id>`: ordered among themselves,
# apart from the customer's messages, so a team webhook that is down delays only itself.
NOTIFICATION_PREFIX = "handoff:"


def reason_label(reason: str | None) -> str:
    """The reason in the shop's words (an unknown one, from an older version, as it is)."""
    if reason is None:
        return "needs a person"
    return REASON_LABELS.get(cast(EscalationReason, reason), reason)


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
