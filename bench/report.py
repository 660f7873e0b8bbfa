"""Printing sections as tables (rich) and writing the JSON report."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Section:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """The measured figures, unformatted, for the JSON report."""


def console() -> Console:
    # A fixed width: under make or pytest there is no terminal to size the tables from.
    return Console(width=140, highlight=False)


def print_section(out: Console, section: Section) -> None:
    table = Table(title=section.title, title_justify="left", show_lines=False)
    for n, column in enumerate(section.columns):
        table.add_column(column, justify="left" if n == 0 else "right")
    for row in section.rows:
        table.add_row(*row)
    out.print(table)
    for note in section.notes:
        out.print(f"  note: {note}")
    out.print()


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        # The machine may be shared: a high load means the figures include other people's work.
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def write_report(path: Path, sections: list[Section], options: dict[str, Any]) -> None:
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": options,
        "sections": {s.key: {"title": s.title, "notes": s.notes, **s.data} for s in sections},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def ms(value: float) -> str:
    return f"{value:,.1f} ms"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f} s"


def size(value: int | float) -> str:
    return f"{value / 1024:,.1f} KiB"
