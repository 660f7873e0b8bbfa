"""Operator sign-in is throttled over real HTTP, per account and per client address, with the
same answers whether or not the account exists."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from carebot.desk.operators import SIGN_IN_WINDOW, SIGN_INS_PER_ACCOUNT, SIGN_INS_PER_CLIENT
from tests.conftest import settings_for
from tests.test_channels import serving
from tests.test_operator_inbox import PASSWORD, add_operator


def an_address() -> str:
    """A loopback address of the test's own (all of 127/8 reaches the server): other tests'
    sign-ins, from 127.0.0.1, neither count here nor get throttled by this test."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@asynccontextmanager
async def client_at(server: httpx.AsyncClient, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=server.base_url, transport=transport) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/admin/login", data={"email": email, "password": password})


def answer(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, response.headers.get("location")


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 0 < seconds <= SIGN_IN_WINDOW.total_seconds()
    assert "Too many sign-in attempts" in response.text
    return seconds


async def test_wrong_passwords_lock_an_account_and_an_unknown_email_alike(postgres_url: str) -> None:
    settings = settings_for(postgres_url)
    real = await add_operator(settings)
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@shop.example"
    async with serving(settings, with_worker=False) as server, client_at(server, an_address()) as client:
        answers: dict[str, list[tuple[int, str | None]]] = {}
        for email in (real, unknown):
            wrong = [await sign_in(client, email, "not the password") for _ in range(SIGN_INS_PER_ACCOUNT)]
            answers[email] = [answer(r) for r in wrong]
            assert answers[email] == [(303, "/admin/login?error=1")] * SIGN_INS_PER_ACCOUNT
            locked = await sign_in(client, email, "not the password")
            answers[email].append((locked.status_code, None))
            retry_after(locked)
        assert answers[real] == answers[unknown]  # nothing tells the real account from the unknown one
        # Locked means the password is not even checked, from any address.
        retry_after(await sign_in(client, real, PASSWORD))
        async with client_at(server, an_address()) as elsewhere:
            retry_after(await sign_in(elsewhere, real, PASSWORD))


async def test_wrong_passwords_from_one_address_lock_that_address_only(postgres_url: str) -> None:
    settings = settings_for(postgres_url)
    operator = await add_operator(settings)
    async with serving(settings, with_worker=False) as server, client_at(server, an_address()) as guesser:
        for _ in range(SIGN_INS_PER_CLIENT):  # one guess per email: under every account's limit
            guess = await sign_in(guesser, f"guess-{uuid.uuid4().hex[:6]}@shop.example", "hunter22222")
            assert answer(guess) == (303, "/admin/login?error=1")
        retry_after(await sign_in(guesser, f"fresh-{uuid.uuid4().hex[:6]}@shop.example", "hunter22222"))
        retry_after(await sign_in(guesser, operator, PASSWORD))
        async with client_at(server, an_address()) as colleague:
            signed_in = await sign_in(colleague, operator, PASSWORD)
            assert answer(signed_in) == (303, "/admin")
            assert (await colleague.get("/admin/me")).json()["email"] == operator


async def test_a_successful_sign_in_forgets_the_accounts_wrong_tries(postgres_url: str) -> None:
    settings = settings_for(postgres_url)
    operator = await add_operator(settings)
    async with serving(settings, with_worker=False) as server, client_at(server, an_address()) as client:
        for _ in range(SIGN_INS_PER_ACCOUNT - 1):
            assert answer(await sign_in(client, operator, "a typo, again")) == (303, "/admin/login?error=1")
        assert answer(await sign_in(client, operator, PASSWORD)) == (303, "/admin")
        for _ in range(SIGN_INS_PER_ACCOUNT):  # a full allowance again
            assert answer(await sign_in(client, operator, "a typo, again")) == (303, "/admin/login?error=1")
        retry_after(await sign_in(client, operator, PASSWORD))
