"""P1: the bot's own cost per turn. `POST /chat` on the offline model and Postgres, one user and
several at once; the same graph behind `langgraph dev` (Studio's server) as a comparison."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import aiohttp
from langgraph_sdk import get_client

from bench.lab import Lab
from bench.options import Sizes
from bench.processes import (
    BIN,
    REPO,
    carebot_env,
    carebot_serve,
    carebot_workers,
    port_is_free,
    registered_workers,
    running,
    wait_for_workers,
)
from bench.report import Section, ms
from bench.stats import latency_summary
from bench.tenants import Shop, add_second_shop, shops
from bench.web_chat import CUSTOMER_MESSAGES, message, timed_chat, web_client

# Studio's port by convention here (2024 is taken on these machines and langgraph dev would
# silently move elsewhere).
STUDIO_PORT = 2025


async def run_p1(lab: Lab, sizes: Sizes, *, tenants: int = 1) -> Section:
    database_url = lab.fresh_database()
    env = carebot_env(database_url)
    on = shops(tenants)
    if len(on) > 1:
        await add_second_shop(env, lab.workdir)
    title = "P1 cost per turn: POST /chat, offline model, Postgres" + (f", {len(on)} shops" if len(on) > 1 else "")
    section = Section("p1", title, ("", "p50", "p99", "req/s"))
    before = await registered_workers(database_url)
    async with carebot_serve(env, lab.workdir, "p1-serve") as server, web_client(server.url) as client:
        lab.ready_seconds.append(server.seconds_to_ready)
        # Its workers take turns once their models are warm: under load that took over the 30 s a
        # /chat waits (a 503 on the first message), as P2 the measuring starts after they registered.
        await wait_for_workers(database_url, more_than=before, within=180)
        # The first turns pay for lazy imports, connections and caches: not what is measured.
        for shop in on:
            for text in CUSTOMER_MESSAGES:
                await timed_chat(client, f"bench-warm-up-{shop.slug}", text, shop.site_key)

        started = time.perf_counter()
        # With two shops, one user of each, their messages taking turns.
        one_user = [
            await timed_chat(client, f"bench-one-user-{n % len(on)}", message(n), on[n % len(on)].site_key)
            for n in range(sizes.requests)
        ]
        one_user_rate = len(one_user) / (time.perf_counter() - started)
        many, many_rate = await several_users(client, sizes, "one-process", on)

        # One interpreter uses one of the two cores at most: the same users again with a
        # `carebot worker` answering next to `carebot serve`, as a shop scales out.
        registered = await registered_workers(database_url)
        async with carebot_workers(1, env, lab.workdir):
            await wait_for_workers(database_url, more_than=registered)
            await several_users(client, dataclasses.replace(sizes, per_user=2), "warm-up", on)
            scaled, scaled_rate = await several_users(client, sizes, "two-processes", on)

    one = latency_summary(one_user)
    several = latency_summary(many)
    two = latency_summary(scaled)
    section.data = {
        "shops": len(on),
        "one_user": {**one, "requests_per_s": round(one_user_rate, 2)},
        "concurrent": {**several, "users": sizes.users, "requests_per_s": round(many_rate, 2)},
        "throughput_ratio": round(many_rate / one_user_rate, 2),
        "concurrent_with_worker": {**two, "users": sizes.users, "requests_per_s": round(scaled_rate, 2)},
        "throughput_ratio_with_worker": round(scaled_rate / one_user_rate, 2),
    }
    section.rows += [
        ("carebot, 1 user, sequential", ms(one["p50_ms"]), ms(one["p99_ms"]), f"{one_user_rate:.1f}"),
        (f"carebot, {sizes.users} users at once", ms(several["p50_ms"]), ms(several["p99_ms"]), f"{many_rate:.1f}"),
        (f"throughput {sizes.users} users / 1 user", "", "", f"{many_rate / one_user_rate:.2f}×"),
        (f"  + 1 `carebot worker`, {sizes.users} users", ms(two["p50_ms"]), ms(two["p99_ms"]), f"{scaled_rate:.1f}"),
        (f"  throughput {sizes.users} users / 1 user", "", "", f"{scaled_rate / one_user_rate:.2f}×"),
    ]

    if sizes.langgraph_turns <= 0:
        section.notes.append("langgraph dev skipped (--langgraph-turns 0)")
    elif not port_is_free(STUDIO_PORT):
        section.notes.append(f"langgraph dev skipped: port {STUDIO_PORT} is in use by another process")
    else:
        studio = latency_summary(await studio_turns(database_url, lab.workdir, sizes.langgraph_turns))
        ratio = studio["p50_ms"] / one["p50_ms"]
        section.data["langgraph_dev"] = {**studio, "p50_ratio_to_carebot": round(ratio, 1)}
        section.rows += [
            ("langgraph dev, 1 user, sequential", ms(studio["p50_ms"]), ms(studio["p99_ms"]), ""),
            ("langgraph dev p50 / carebot p50", f"{ratio:.1f}×", "", ""),
        ]
    return section


async def several_users(
    client: aiohttp.ClientSession, sizes: Sizes, tag: str, on: tuple[Shop, ...]
) -> tuple[list[float], float]:
    """Each user sends its messages one after another, all users at once (user u on shop u mod
    the shops): latencies and req/s."""

    async def user(u: int) -> list[float]:
        site_key = on[u % len(on)].site_key
        return [await timed_chat(client, f"bench-{tag}-{u}", message(u + n), site_key) for n in range(sizes.per_user)]

    started = time.perf_counter()
    per_user = await asyncio.gather(*(user(u) for u in range(sizes.users)))
    latencies = [latency for latencies in per_user for latency in latencies]
    return latencies, len(latencies) / (time.perf_counter() - started)


async def studio_turns(database_url: str, workdir: Path, turns: int) -> list[float]:
    """Seconds per turn through `langgraph dev` (threads and runs via langgraph_sdk), one thread."""
    url = f"http://127.0.0.1:{STUDIO_PORT}"
    cmd = [str(BIN / "langgraph"), "dev", "--no-browser", "--port", str(STUDIO_PORT), "--no-reload"]
    env = carebot_env(database_url)
    async with running(cmd, env=env, ready_url=f"{url}/ok", base_url=url, cwd=REPO, log=workdir / "studio.log"):
        client = get_client(url=url)
        thread = await client.threads.create()

        async def turn(text: str) -> float:
            graph_input: dict[str, Any] = {"messages": [{"role": "human", "content": text}]}
            started = time.perf_counter()
            await client.runs.wait(thread["thread_id"], "carebot", input=graph_input)
            return time.perf_counter() - started

        await turn("hello")  # the first run loads the graph
        return [await turn(message(n)) for n in range(turns)]
