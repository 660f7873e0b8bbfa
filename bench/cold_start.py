"""Cold start: how long until a fresh process is useful."""

from __future__ import annotations

from bench.lab import Lab
from bench.options import Sizes
from bench.processes import CAREBOT, carebot_env, carebot_serve, wall_time
from bench.report import Section, seconds
from bench.stats import median


async def run_cold_start(lab: Lab, sizes: Sizes) -> Section:
    # An existing database: migrated and seeded already, as on every start after the first.
    env = carebot_env(lab.fresh_database())
    ready = lab.ready_seconds[-sizes.repeats :]
    for n in range(sizes.repeats - len(ready)):
        async with carebot_serve(env, lab.workdir, f"cold-serve-{n}") as server:
            ready.append(server.seconds_to_ready)
    one_shot = [
        await wall_time([CAREBOT, "chat", "hi", "--user", "+14155550100"], env=env, cwd=lab.workdir)
        for _ in range(sizes.repeats)
    ]
    help_text = [await wall_time([CAREBOT, "--help"], env=env, cwd=lab.workdir) for _ in range(sizes.repeats)]
    section = Section("cold", f"Cold start (median of {sizes.repeats} each)", ("", "median", "min", "max"))
    figures = {
        "serve_to_ready_s": ready,
        "chat_one_shot_s": one_shot,
        "help_s": help_text,
    }
    labels = {
        "serve_to_ready_s": "carebot serve → /health/ready (existing database)",
        "chat_one_shot_s": 'carebot chat "hi" (one shot)',
        "help_s": "carebot --help",
    }
    for key, samples in figures.items():
        section.rows.append((labels[key], seconds(median(samples)), seconds(min(samples)), seconds(max(samples))))
    section.rows.append(
        ("carebot serve → ready on an empty database (migrate + seed)", seconds(lab.first_start_seconds), "", "")
    )
    section.data = {
        **{key: {"median": round(median(s), 2), "samples": [round(x, 2) for x in s]} for key, s in figures.items()},
        "first_start_empty_database_s": round(lab.first_start_seconds, 2),
    }
    return section
