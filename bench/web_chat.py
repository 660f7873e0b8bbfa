"""The web channel as a client uses it: `POST /chat` and wait for the answer."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

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


def web_client(url: str, *, timeout: float = 120) -> aiohttp.ClientSession:
    """The bench's web visitors' HTTP client. aiohttp, not httpx: the bench shares the two cores
    with the app, and httpx's own CPU per request, several users at once, was a fifth of what it
    measured (8 users: 55 req/s through httpx, 72–85 through aiohttp, the app the same).

    No cookie jar: each bench user is its own visitor, named by the X-Session-Id it was given.
    (Up to 1 Dec 2026 the httpx client kept the session cookie, so a new bench user's first
    message continued the previous user's conversation: P1's "8 users" mostly shared one
    conversation, whose turns run one at a time, and P3's 100 threads were fewer.)"""
    return aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=timeout), cookie_jar=aiohttp.DummyCookieJar())


async def chat(client: aiohttp.ClientSession, user_id: str, text: str, site_key: str | None = None) -> dict[str, Any]:
    """One message of `user_id`, on the shop `site_key` names (the default shop without one)."""
    session = _SESSIONS.get(user_id)
    headers = {"X-Session-Id": session} if session else {}
    if site_key:
        headers["X-Site-Key"] = site_key
    async with client.post("/chat", json={"text": text}, headers=headers, raise_for_status=True) as response:
        answer: dict[str, Any] = await response.json()
    if answer.get("session_id"):
        _SESSIONS[user_id] = answer["session_id"]
    return answer


async def timed_chat(client: aiohttp.ClientSession, user_id: str, text: str, site_key: str | None = None) -> float:
    """Seconds from sending the message to having its answer."""
    started = time.perf_counter()
    await chat(client, user_id, text, site_key)
    return time.perf_counter() - started
