"""P3: storage. Postgres bytes one conversation takes as it grows, and many conversations' worth."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bench.lab import Lab
from bench.options import Sizes
from bench.postgres import table_bytes, thread_row_bytes
from bench.processes import carebot_env, carebot_serve
from bench.report import Section, size
from bench.web_chat import chat, message, web_client

# The many-threads case sends from this many users at once: enough to finish in seconds.
CONCURRENT_USERS = 8


async def run_p3(lab: Lab, sizes: Sizes) -> Section:
    database_url = lab.fresh_database()
    section = Section(
        "p3",
        "P3 storage: checkpoints, checkpoint_writes, checkpoint_blobs, inbox, outbox",
        ("", "thread rows", "per turn", "table growth", "per thread"),
    )
    section.notes += [
        "thread rows = sum of pg_column_size(row) over the thread's rows (values as stored, compressed;"
        " outbox rows through their inbox row); no indexes, headers or free space",
        "table growth = change of pg_total_relation_size (heap + TOAST + indexes, in 8 KiB pages) over the run",
    ]
    async with (
        carebot_serve(carebot_env(database_url), lab.workdir, "p3-serve") as server,
        web_client(server.url) as client,
    ):
        lab.ready_seconds.append(server.seconds_to_ready)
        one_thread: list[dict[str, Any]] = []
        baseline = sum(table_bytes(database_url).values())
        thread_id, done = "", 0
        for target in sorted(sizes.turns):
            while done < target:
                thread_id = (await chat(client, "bench-storage", message(done)))["thread_id"]
                done += 1
            rows = thread_row_bytes(database_url, [thread_id])
            growth = sum(table_bytes(database_url).values()) - baseline
            one_thread.append({"turns": target, "row_bytes": sum(rows.values()), "per_table": rows, "growth": growth})
            section.rows.append(
                (
                    f"1 thread, {target} turns",
                    size(sum(rows.values())),
                    size(sum(rows.values()) / target),
                    size(growth),
                    "",
                )
            )

        baseline = sum(table_bytes(database_url).values())
        thread_ids = await many_threads(client, sizes.threads, sizes.turns_per_thread)
        rows = thread_row_bytes(database_url, thread_ids)
        growth = sum(table_bytes(database_url).values()) - baseline
        turns = sizes.threads * sizes.turns_per_thread
        section.rows.append(
            (
                f"{sizes.threads} threads × {sizes.turns_per_thread} turns",
                size(sum(rows.values())),
                size(sum(rows.values()) / turns),
                size(growth),
                size(growth / sizes.threads),
            )
        )
    first, last = one_thread[0], one_thread[-1]
    growth_ratio = last["row_bytes"] / first["row_bytes"]
    # The graph's state (what retention bounds) apart from the inbox/outbox, the record of every
    # message, which is kept for MESSAGE_RETENTION_DAYS and so grows with the turns until then.
    state_ratio = _checkpoint_bytes(last) / _checkpoint_bytes(first)
    section.data = {
        "one_thread": one_thread,
        "growth_last_over_first": round(growth_ratio, 2),
        "checkpoints_last_over_first": round(state_ratio, 2),
        "many_threads": {
            "threads": sizes.threads,
            "turns_per_thread": sizes.turns_per_thread,
            "row_bytes": sum(rows.values()),
            "per_table": rows,
            "growth": growth,
        },
    }
    section.notes.append(f"one thread after {last['turns']} turns / after {first['turns']}: {growth_ratio:.1f}×")
    section.notes.append(
        f"its checkpoint tables alone after {last['turns']} turns / after {first['turns']}: {state_ratio:.2f}×"
        " (inbox/outbox rows are the message record, deleted after MESSAGE_RETENTION_DAYS)"
    )
    return section


def _checkpoint_bytes(measure: dict[str, Any]) -> int:
    return sum(v for table, v in measure["per_table"].items() if table.startswith("checkpoint"))


async def many_threads(client: aiohttp.ClientSession, threads: int, turns: int) -> list[str]:
    """`threads` users each sending `turns` messages, `CONCURRENT_USERS` at a time; their thread ids."""
    gate = asyncio.Semaphore(CONCURRENT_USERS)

    async def converse(user: int) -> str:
        async with gate:
            thread_id = ""
            for n in range(turns):
                thread_id = (await chat(client, f"bench-many-{user}", message(user + n)))["thread_id"]
            return thread_id

    return list(await asyncio.gather(*(converse(u) for u in range(threads))))
