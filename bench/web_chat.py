"""The web channel as a client uses it: `POST /chat` and wait for the answer."""

from __future__ import annotations

import time
from typing import Any

import httpx

# A mix of the questions customers ask, so a run goes through every branch of the graph.
CUSTOMER_MESSAGES = (
    "where is my order?",
    "how long does shipping take?",
    "how do I return an item?",
    "can I pay by bank transfer?",
    "hello",
)


def message(n: int) -> str:
    return CUSTOMER_MESSAGES[n % len(CUSTOMER_MESSAGES)]


# Each bench user is an anonymous web session (the app names no customer from what a visitor
# claims); its id, handed back by the first answer, continues the same conversation. One run
# of the bench is one process, so a run-wide table is enough.
_SESSIONS: dict[str, str] = {}


async def chat(client: httpx.AsyncClient, user_id: str, text: str) -> dict[str, Any]:
    session = _SESSIONS.get(user_id)
    headers = {"X-Session-Id": session} if session else {}
    response = await client.post("/chat", json={"text": text}, headers=headers)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    if answer.get("session_id"):
        _SESSIONS[user_id] = answer["session_id"]
    return answer


async def timed_chat(client: httpx.AsyncClient, user_id: str, text: str) -> float:
    """Seconds from sending the message to having its answer."""
    started = time.perf_counter()
    await chat(client, user_id, text)
    return time.perf_counter() - started
