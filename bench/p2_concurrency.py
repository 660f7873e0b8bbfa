"""P2: many conversations at once with a slow model. N customers' first messages arrive through the
signed WhatsApp webhook in a burst; a fake model answers every call after `model_delay`; replies go
to a fake Twilio. What a shop sees: how fast Twilio gets its acks, how long until everyone has an
answer, and how long a web customer waits meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.fakes import FakeTwilio, SlowModel, serving
from bench.lab import Lab
from bench.options import Sizes
from bench.processes import (
    carebot_env,
    carebot_serve,
    carebot_workers,
    registered_workers,
    wait_for_workers,
    worker_command_exists,
)
from bench.report import Section, ms, seconds
from bench.stats import latency_summary, percentile
from bench.tenants import Shop, add_second_shop, shops
from bench.web_chat import timed_chat, web_client
from bench.whatsapp import Ack, customer_number, inbound_form, post_signed, twilio_settings

# Classify (structured output) and generate: two model calls per turn of the fake's shipping
# question, so a turn cannot take less than twice the model's delay.
CALLS_PER_TURN = 2
QUESTION = "how long does shipping take?"
# Twilio opens many connections at once, but not hundreds from one test client.
CONNECTIONS = 64
# Warm-up conversations' senders, numbered far from the measured ones.
WARM_UP_SENDERS = 9_000_000


@dataclass(frozen=True)
class Burst:
    conversations: int
    extra_workers: int
    model_delay: float
    timeout: float
    shops: tuple[Shop, ...]
    """Sender n writes to shop n mod the shops."""

    def shop(self, n: int) -> Shop:
        return self.shops[n % len(self.shops)]

    def form(self, n: int, sender: str) -> dict[str, str]:
        shop = self.shop(n)
        return inbound_form(n, sender, QUESTION, to=shop.number, account_sid=shop.account_sid)

    async def post(self, session: aiohttp.ClientSession, n: int, sender: str) -> Ack:
        shop = self.shop(n)
        return await post_signed(session, self.form(n, sender), path=shop.webhook_path, auth_token=shop.auth_token)


async def run_p2(lab: Lab, sizes: Sizes, model_delay: float, *, tenants: int = 1) -> Section:
    on = shops(tenants)
    section = Section(
        "p2",
        f"P2 concurrency: first WhatsApp messages in a burst, model answering after {model_delay:g} s per call"
        + (f", {len(on)} shops" if len(on) > 1 else ""),
        (
            "N",
            "processes",
            "ack p50",
            "ack p99",
            "all replied",
            "replies/s",
            "share of ideal",
            "reply wait p50",
            "web /chat in burst",
            "model calls in flight",
        ),
    )
    runs: list[dict[str, Any]] = []
    workers_supported: bool | None = None
    for extra in sizes.workers:
        if extra:
            if workers_supported is None:
                workers_supported = await worker_command_exists()
            if not workers_supported:
                section.notes.append(f"runs with {extra} extra worker process(es) skipped: no `carebot worker` command")
                continue
        for n in sizes.sizes:
            burst = Burst(n, extra, model_delay, sizes.p2_timeout, on)
            result = await run_burst(lab, burst)
            runs.append(result)
            section.rows.append(row(result))
            if result["acks_refused"]:
                section.notes.append(f"N={n}: {len(result['acks_refused'])} webhooks refused: {result['acks_refused']}")
            if not result["all_answered"]:
                section.notes.append(
                    f"N={n}, {1 + extra} process(es): not all answered in {burst.timeout:g} s"
                    f" ({result['answered']}/{n})"
                )
    ideal = CALLS_PER_TURN * model_delay
    section.notes.append(
        f"ideal: every conversation answered {ideal:g} s after the burst ({CALLS_PER_TURN} model calls per turn);"
        " share of ideal = ideal / time until all replied"
    )
    section.data = {"model_delay_s": model_delay, "ideal_s": ideal, "shops": len(on), "runs": runs}
    return section


def row(result: dict[str, Any]) -> tuple[str, ...]:
    ack = result["ack"]
    share = result["share_of_ideal"]
    web = result["web_chat_s"]
    return (
        str(result["conversations"]),
        f"1 + {result['extra_workers']} workers" if result["extra_workers"] else "1 (serve)",
        ms(ack["p50_ms"]),
        ms(ack["p99_ms"]),
        seconds(result["all_replied_s"])
        if result["all_answered"]
        else f"{result['answered']} in {result['waited_s']:g} s",
        f"{result['replies_per_s']:.2f}",
        "—" if share is None else f"{share:.1%}",
        seconds(result["reply_wait_p50_s"]),
        seconds(web) if web is not None else str(result["web_chat_failure"]),
        str(result["most_model_calls_in_flight"]),
    )


async def run_burst(lab: Lab, burst: Burst) -> dict[str, Any]:
    model, twilio = SlowModel(burst.model_delay), FakeTwilio(expected_recipients=burst.conversations)
    database_url = lab.fresh_database()
    name = f"p2-{burst.conversations}-{burst.extra_workers}"
    async with serving(model.routes()) as model_url, serving(twilio.routes()) as twilio_url:
        env = carebot_env(
            database_url,
            MODEL="openai:fake",
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=f"{model_url}/v1",
            **twilio_settings(twilio_url),
        )
        if len(burst.shops) > 1:
            await add_second_shop(env, lab.workdir)
        registered = await registered_workers(database_url)
        async with (
            carebot_workers(burst.extra_workers, env, lab.workdir),
            carebot_serve(env, lab.workdir, name) as server,
            aiohttp.ClientSession(
                server.url,
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                timeout=aiohttp.ClientTimeout(total=30),
            ) as twilio_client,
        ):
            # A busy evening meets a running shop: every process warm (its workers registered),
            # not one still loading its models while the first messages arrive.
            await wait_for_workers(database_url, more_than=registered, processes=1 + burst.extra_workers)
            await warm_up(twilio_client, model, twilio, burst)
            return await deliver_and_wait(twilio_client, server.url, burst, model, twilio)


async def warm_up(twilio_client: aiohttp.ClientSession, model: SlowModel, twilio: FakeTwilio, burst: Burst) -> None:
    """A conversation per connection, answered before the burst: the server has met the
    webhook path and the client's connections are open, as on an evening already under way
    (the first burst after a start otherwise pays ~0.2 s more per ack for both)."""
    twilio.expect(CONNECTIONS)
    await asyncio.gather(
        *(
            burst.post(twilio_client, WARM_UP_SENDERS + n, customer_number(WARM_UP_SENDERS + n))
            for n in range(CONNECTIONS)
        )
    )
    await asyncio.wait_for(twilio.everyone_replied.wait(), burst.timeout)
    twilio.expect(burst.conversations)
    model.forget()


async def deliver_and_wait(
    twilio_client: aiohttp.ClientSession, url: str, burst: Burst, model: SlowModel, twilio: FakeTwilio
) -> dict[str, Any]:
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    refused: list[int] = []
    """Status codes of webhooks not acknowledged with 2xx (Twilio would retry or give up on them)."""
    gate = asyncio.Semaphore(CONNECTIONS)

    async def deliver(n: int) -> None:
        sender = customer_number(n)
        async with gate:
            started = time.monotonic()
            sent_at[f"whatsapp:{sender}"] = started
            response = await burst.post(twilio_client, n, sender)
            acks.append(time.monotonic() - started)
        if not response.is_success:
            refused.append(response.status)

    began = time.monotonic()
    deadline = began + burst.timeout
    await asyncio.gather(*(deliver(n) for n in range(burst.conversations)))

    # A web customer arriving while the burst is being answered; waits as long as the burst may.
    visitor = web_client(url, timeout=max(deadline - time.monotonic(), 1))
    web_chat = asyncio.create_task(timed_chat(visitor, "bench-web-during-burst", QUESTION))
    web_sent = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(twilio.everyone_replied.wait(), max(deadline - time.monotonic(), 0))
    web_chat_s: float | None = None
    web_chat_failure: str | None = None
    try:
        web_chat_s = await web_chat
    except TimeoutError:
        web_chat_failure = f"no answer in {time.monotonic() - web_sent:.0f} s"
    except aiohttp.ClientResponseError as error:
        web_chat_failure = f"HTTP {error.status} after {time.monotonic() - web_sent:.1f} s"
    except aiohttp.ClientError as error:
        web_chat_failure = f"{type(error).__name__} after {time.monotonic() - web_sent:.1f} s"
    finally:
        await visitor.close()

    replied = twilio.first_reply_at
    answered = len(replied)
    last = max(replied.values(), default=time.monotonic())
    all_answered = answered == burst.conversations
    all_replied_s = last - began if all_answered else None
    waits = [replied[to] - sent_at[to] for to in replied]
    ideal = CALLS_PER_TURN * burst.model_delay
    return {
        "conversations": burst.conversations,
        "extra_workers": burst.extra_workers,
        "ack": latency_summary(acks),
        "acks_refused": refused,
        "answered": answered,
        "all_answered": all_answered,
        "waited_s": round(time.monotonic() - began, 1),
        "all_replied_s": None if all_replied_s is None else round(all_replied_s, 2),
        "replies_per_s": round(answered / max(last - began, 1e-9), 2),
        "share_of_ideal": None if all_replied_s is None else round(ideal / all_replied_s, 4),
        "reply_wait_p50_s": round(percentile(waits, 0.5), 2) if waits else None,
        "web_chat_s": None if web_chat_s is None else round(web_chat_s, 2),
        "web_chat_failure": web_chat_failure,
        "model_calls": model.calls,
        "most_model_calls_in_flight": model.most_in_flight,
        "twilio_sends": twilio.sends,
    }
