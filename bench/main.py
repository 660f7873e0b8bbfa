"""Runs the chosen sections in order, printing each table as it is done, then writes the report."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.cold_start import run_cold_start
from bench.lab import Lab, prepare_lab
from bench.options import Options, parse_options
from bench.p1_turn_cost import run_p1
from bench.p2_concurrency import run_p2
from bench.p3_storage import run_p3
from bench.postgres import embedded_server
from bench.report import Section, console, print_section, write_report

Runner = Callable[[Lab, Options], Awaitable[Section]]
RUNNERS: dict[str, Runner] = {
    "p1": lambda lab, options: run_p1(lab, options.sizes, tenants=options.tenants),
    "p2": lambda lab, options: run_p2(lab, options.sizes, options.model_delay, tenants=options.tenants),
    "p3": lambda lab, options: run_p3(lab, options.sizes),
    "cold": lambda lab, options: run_cold_start(lab, options.sizes),
}


async def run(options: Options, workdir: Path) -> list[Section]:
    out = console()
    out.print(f"[dim]load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}[/dim]")
    sections = []
    with embedded_server(workdir / "pg") as server_url:
        out.print("[dim]preparing a seeded database with carebot serve…[/dim]")
        lab = await prepare_lab(server_url, workdir)
        for key in options.only:
            out.print(f"[dim]running {key}…[/dim]")
            started = time.monotonic()
            section = await RUNNERS[key](lab, options)
            section.data["section_seconds"] = round(time.monotonic() - started, 1)
            print_section(out, section)
            sections.append(section)
    return sections


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    workdir = Path(tempfile.mkdtemp(prefix="carebot-bench-"))
    try:
        sections = asyncio.run(run(options, workdir))
    finally:
        if options.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    write_report(
        options.report,
        sections,
        {**dataclasses.asdict(options.sizes), "model_delay": options.model_delay, "tenants": options.tenants},
    )
    console().print(f"report written to {options.report}")
    return 0
