"""The operators' side of a conversation: the inbox list, a conversation with its transcript and
customer, taking over, replying on the customer's channel, handing back, and the timers that
keep waiting customers informed and return conversations nobody is answering to the bot.

Operator messages are queued in the outbox in the same transaction that records them, like the
bot's replies; the job queue sends them. Status changes and operator messages are appended to
the graph's state by the conversation's next job (it holds the conversation's turn lock).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from carebot.db.pool import Pool
from carebot.delivery.answering import reply_parts
from carebot.delivery.outbox import enqueue
from carebot.desk.handover import reason_label
from carebot.desk.transcript import add_message, message_json
from carebot.domain import Customer
from carebot.phrases import phrase
from carebot.shop.orders import OrderSource
from carebot.verification.types import IdentityVerifier

log = logging.getLogger(__name__)

# WhatsApp accepts free text only within 24 hours of the customer's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
# A Discord interaction token lets the app post for 15 minutes after the customer's command.
DISCORD_REPLY_WINDOW = timedelta(minutes=15)
_TRANSCRIPT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Operator:
    """Who acts: a signed-in operator, or automation with the admin token (`id` None)."""

    id: int | None
    name: str
    email: str | None
    role: str


class ConversationNotFound(LookupError):
    pass


class CannotSend(Exception):
    """The channel refuses this message now (WhatsApp's window closed, a Discord token expired)."""


class UnknownTemplate(ValueError):
    pass


def _conversation_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["thread_id"],
        "channel": row["channel"],
        "status": row["status"],
        "reason": row["reason"],
        "reason_label": reason_label(row["reason"]) if row["reason"] else None,
        "assignee": row["assignee"],
        "unread": row["unread"],
        "customer": row["customer_name"],
        "language": row["language"],
        "last_message_at": row["last_message_at"].isoformat(),
        "waiting_since": row["waiting_since"].isoformat() if row["waiting_since"] else None,
        "last_message": row.get("last_text"),
    }


async def _take(conn: AsyncConnection[DictRow], thread_id: str, operator: Operator) -> bool:
    """The operator has the conversation from now on (inside the caller's transaction), with a
    system line saying so; False when there is no such conversation."""
    cur = await conn.execute(
        "UPDATE conversations SET status = 'human', assignee_id = %s, taken_at = now(),"
        " last_operator_at = now(), unread = 0 WHERE thread_id = %s RETURNING thread_id",
        (operator.id, thread_id),
    )
    if await cur.fetchone() is None:
        return False
    await add_message(
        conn,
        thread_id=thread_id,
        role="system",
        text=f"{operator.name} took over the conversation.",
        author=operator.name,
        operator_id=operator.id,
        meta={"event": "takeover"},
    )
    return True


_CONVERSATIONS = """
SELECT c.*, o.name AS assignee,
    (SELECT m.text FROM messages m WHERE m.thread_id = c.thread_id AND m.role <> 'system'
     ORDER BY m.id DESC LIMIT 1) AS last_text
FROM conversations c LEFT JOIN operators o ON o.id = c.assignee_id
"""


class OperatorDesk:
    """What the operator API and the timers do to conversations."""

    def __init__(
        self,
        pool: Pool,
        *,
        orders: OrderSource,
        verifier: IdentityVerifier,
        templates: dict[str, str],
        support_hours: str | None = None,
        shop_name: str = "",
    ) -> None:
        self._pool = pool
        self._orders = orders
        self._verifier = verifier
        self._templates = templates
        self._support_hours = support_hours
        self._shop_name = shop_name

    async def conversations(self, status: str | None = None, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first; waiting ones by how long they have waited would hide new ones, so the
        inbox shows the wait next to each instead."""
        where, params = ("WHERE c.status = %s", [status]) if status else ("", [])
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"{_CONVERSATIONS} {where} ORDER BY c.last_message_at DESC LIMIT %s",  # fixed fragments
                (*params, limit),
            )
            rows = await cur.fetchall()
        for row in rows:
            # Name the customers operators are to answer (looked up once, then kept).
            if row["customer_name"] is None and row["status"] != "bot":
                with contextlib.suppress(Exception):  # an order system outage leaves them unnamed
                    await self._find_customer(row)
        return [_conversation_json(r) for r in rows]

    async def conversation(self, thread_id: str, *, mark_read: bool = True) -> dict[str, Any]:
        """The conversation with its transcript, customer and recent orders, the hand-over's
        detail, WhatsApp's window and the bot's suggested reply. Opening it marks it read."""
        async with self._pool.connection() as conn:
            if mark_read:
                await conn.execute(
                    "UPDATE conversations SET unread = 0 WHERE thread_id = %s AND unread > 0", (thread_id,)
                )
            cur = await conn.execute(f"{_CONVERSATIONS} WHERE c.thread_id = %s", (thread_id,))
            row = await cur.fetchone()
            if row is None:
                raise ConversationNotFound(thread_id)
            cur = await conn.execute(
                "SELECT * FROM (SELECT * FROM messages WHERE thread_id = %s ORDER BY id DESC LIMIT %s) t ORDER BY id",
                (thread_id, _TRANSCRIPT_LIMIT),
            )
            messages = await cur.fetchall()
        customer, orders = await self._customer(row)
        window = None
        if row["channel"] == "whatsapp" and row["last_customer_at"] is not None:
            window = (row["last_customer_at"] + WHATSAPP_WINDOW).isoformat()
        return {
            **_conversation_json(row),
            "reason_detail": row["reason_detail"],
            "customer": customer,
            "orders": orders,
            "window_closes_at": window,
            "templates": sorted(self._templates) if row["channel"] == "whatsapp" else [],
            "suggested_reply": row["suggested_reply"],
            "messages": [message_json(m) for m in messages],
        }

    async def _find_customer(self, row: dict[str, Any]) -> Customer | None:
        """Who the customer is, by the channel's identity or a verified link; remembered on the
        conversation so the inbox can show the name."""
        customer = await self._orders.find_customer(channel=row["channel"], sender=row["sender"])
        if customer is None and (linked := await self._verifier.verified_customer(row["thread_id"])):
            customer = await self._orders.customer_by_id(linked)
        if customer is not None and row["customer_name"] != customer.name:
            async with self._pool.connection() as conn:
                await conn.execute(
                    "UPDATE conversations SET customer_id = %s, customer_name = %s WHERE thread_id = %s",
                    (customer.id, customer.name, row["thread_id"]),
                )
            row["customer_name"] = customer.name
        return customer

    async def _customer(self, row: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The customer and their recent orders."""
        try:
            customer = await self._find_customer(row)
            if customer is None:
                return None, []
            orders = await self._orders.recent_orders(customer.id, limit=5)
        except Exception:  # the order system being down must not hide the conversation
            log.warning("customer_lookup_failed", extra={"thread_id": row["thread_id"]})
            return None, []
        return (
            {"id": customer.id, "name": customer.name, "email": customer.email, "phone": customer.phone},
            [
                {
                    "number": o.number,
                    "status": o.status,
                    "summary": o.summary,
                    "total": f"{o.total} {o.currency}",
                    "ordered_at": o.created_at.date().isoformat(),
                }
                for o in orders
            ],
        )

    async def take_over(self, thread_id: str, operator: Operator) -> dict[str, Any]:
        async with self._pool.connection() as conn, conn.transaction():
            if not await _take(conn, thread_id, operator):
                raise ConversationNotFound(thread_id)
        log.info("conversation_taken", extra={"thread_id": thread_id})
        return await self.conversation(thread_id, mark_read=False)

    async def hand_back(self, thread_id: str, operator: Operator | None, *, event: str = "handback") -> dict[str, Any]:
        """Back to the bot (`handback`), or closed as resolved (`resolved`); the bot answers the
        customer's next message, knowing what the operator said."""
        who = operator.name if operator else "Nobody"
        text = {
            "handback": f"{who} handed the conversation back to the assistant.",
            "resolved": f"{who} marked the conversation resolved.",
            "idle": "No operator message for a while: the assistant is back.",
        }[event]
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE conversations SET status = 'bot', assignee_id = NULL, waiting_since = NULL, reason = NULL,"
                " reason_detail = NULL, unread = 0, resolved_at = CASE WHEN %s THEN now() ELSE resolved_at END"
                " WHERE thread_id = %s RETURNING *",
                (event == "resolved", thread_id),
            )
            if await cur.fetchone() is None:
                raise ConversationNotFound(thread_id)
            await add_message(
                conn,
                thread_id=thread_id,
                role="system",
                text=text,
                author=operator.name if operator else None,
                operator_id=operator.id if operator else None,
                meta={"event": "resolved" if event == "resolved" else "handback"},
            )
        log.info("conversation_handed_back", extra={"thread_id": thread_id, "event": event})
        return await self.conversation(thread_id, mark_read=False)

    async def reply(
        self,
        thread_id: str,
        operator: Operator,
        *,
        text: str | None = None,
        template: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue an operator message on the customer's channel (replying takes the conversation
        over). Raises `CannotSend` when the channel refuses free text now (WhatsApp's 24-hour
        window, Discord's 15 minutes) and `UnknownTemplate` for a template not configured."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT * FROM conversations WHERE thread_id = %s FOR UPDATE", (thread_id,))
            conversation = await cur.fetchone()
            if conversation is None:
                raise ConversationNotFound(thread_id)
            payload: dict[str, Any] = {}
            if template is not None:
                if conversation["channel"] != "whatsapp":
                    raise UnknownTemplate("templates are for WhatsApp conversations")
                if template not in self._templates:
                    raise UnknownTemplate(f"no WhatsApp template named {template!r} (WHATSAPP_TEMPLATES)")
                payload["template"] = {"sid": self._templates[template], "variables": variables or {}}
                shown = f"[template {template}] " + json.dumps(variables or {}, ensure_ascii=False)
            else:
                assert text is not None
                shown = text
            target = await self._target(conn, conversation, free_text=template is None)
            if conversation["status"] != "human" or conversation["assignee_id"] != operator.id:
                await _take(conn, thread_id, operator)
            parts = [shown] if template is not None else reply_parts(conversation["channel"], shown)
            message = await add_message(
                conn,
                thread_id=thread_id,
                role="operator",
                text=shown,
                author=operator.name,
                operator_id=operator.id,
                status="pending" if parts else "sent",
                meta={"template": template} if template else None,
            )
            if parts and target is not None:
                recipient, channel_payload = target
                await enqueue(
                    conn,
                    thread_id=thread_id,
                    message_id=message["id"],
                    channel=conversation["channel"],
                    recipient=recipient,
                    parts=parts,
                    payload={**channel_payload, **payload},
                )
            await conn.execute(
                # The suggestion answered the customer's last message: this reply does instead.
                "UPDATE conversations SET last_operator_at = now(), last_message_at = now(), unread = 0,"
                " suggested_reply = NULL WHERE thread_id = %s",
                (thread_id,),
            )
        log.info("operator_replied", extra={"thread_id": thread_id, "template": template})
        return message_json(message)

    async def _target(
        self, conn: AsyncConnection[DictRow], conversation: dict[str, Any], *, free_text: bool
    ) -> tuple[str, dict[str, Any]] | None:
        """Recipient and channel details to write to the customer now (None: the web chat reads
        the transcript itself)."""
        channel, sender = conversation["channel"], conversation["sender"]
        if channel == "web":
            return None
        last_customer: datetime | None = conversation["last_customer_at"]
        cur = await conn.execute("SELECT now() AS now")
        now = (await cur.fetchone() or {})["now"]
        if channel == "whatsapp":
            if free_text and (last_customer is None or now - last_customer > WHATSAPP_WINDOW):
                raise CannotSend(
                    "WhatsApp only delivers free text within 24 hours of the customer's last message: "
                    "send an approved template instead"
                )
            return sender, {"reply_to": sender}
        cur = await conn.execute(
            "SELECT payload, received_at FROM inbox WHERE thread_id = %s ORDER BY id DESC LIMIT 1",
            (conversation["thread_id"],),
        )
        latest = await cur.fetchone()
        if latest is None or "token" not in latest["payload"] or now - latest["received_at"] > DISCORD_REPLY_WINDOW:
            raise CannotSend("Discord lets the app answer only within 15 minutes of the customer's last /chat command")
        # Part 0 of a bot answer edits the "thinking…" message; an operator's message follows it.
        return sender, {
            "application_id": latest["payload"]["application_id"],
            "token": latest["payload"]["token"],
            "followup": True,
        }

    async def tell_long_waits(self, *, wait: timedelta) -> list[str]:
        """Customers nobody took within `wait` get one message in their language (with the team's
        hours when configured); the conversation stays waiting. Returns the threads to send."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM conversations WHERE status = 'waiting' AND waiting_notice_at IS NULL"
                " AND waiting_since < now() - make_interval(secs => %s)",
                (wait.total_seconds(),),
            )
            waiting = await cur.fetchall()
        told: list[str] = []
        for conversation in waiting:
            text = phrase(conversation["language"], "handoff_wait", shop=self._shop_name)
            if self._support_hours:
                text += " " + phrase(conversation["language"], "support_hours", hours=self._support_hours)
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "UPDATE conversations SET waiting_notice_at = now() WHERE thread_id = %s"
                    " AND status = 'waiting' AND waiting_notice_at IS NULL RETURNING *",
                    (conversation["thread_id"],),
                )
                if await cur.fetchone() is None:
                    continue  # taken, or told, meanwhile
                try:
                    target = await self._target(conn, conversation, free_text=True)
                except CannotSend:
                    target = None  # the window closed: nothing can reach them now; noted in the transcript
                parts = reply_parts(conversation["channel"], text) if target is not None else []
                message = await add_message(
                    conn,
                    thread_id=conversation["thread_id"],
                    role="bot",
                    text=text,
                    status="pending" if parts else ("sent" if conversation["channel"] == "web" else "failed"),
                    meta={"event": "wait_notice"},
                )
                if parts and target is not None:
                    await enqueue(
                        conn,
                        thread_id=conversation["thread_id"],
                        message_id=message["id"],
                        channel=conversation["channel"],
                        recipient=target[0],
                        parts=parts,
                        payload=target[1],
                    )
            told.append(conversation["thread_id"])
            log.info("wait_notice_sent", extra={"thread_id": conversation["thread_id"]})
        return told

    async def return_idle(self, *, idle: timedelta) -> list[str]:
        """Taken conversations with no operator message for `idle` go back to the bot."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT thread_id FROM conversations WHERE status = 'human'"
                " AND coalesce(last_operator_at, taken_at) < now() - make_interval(secs => %s)",
                (idle.total_seconds(),),
            )
            idle_threads = [r["thread_id"] for r in await cur.fetchall()]
        for thread_id in idle_threads:
            await self.hand_back(thread_id, None, event="idle")
        return idle_threads

    async def release(self) -> list[str]:
        """Conversations held by an operator with no live session left (signed out, or expired)
        go back to `waiting`, so another operator sees them."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE conversations c SET status = 'waiting', assignee_id = NULL, waiting_since = now(),"
                " waiting_notice_at = NULL"
                " WHERE c.status = 'human' AND c.assignee_id IS NOT NULL AND NOT EXISTS ("
                "   SELECT 1 FROM operator_sessions s WHERE s.operator_id = c.assignee_id AND s.expires_at > now())"
                " RETURNING c.thread_id"
            )
            released = [r["thread_id"] for r in await cur.fetchall()]
            for thread_id in released:
                await add_message(
                    conn,
                    thread_id=thread_id,
                    role="system",
                    text="The operator signed out: the conversation is waiting for someone else.",
                    meta={"event": "released"},
                )
        return released
