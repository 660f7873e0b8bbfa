"""Command-line options of `python -m bench`: what to run, and how big (full or smoke sizes)."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

SECTIONS = ("p1", "p2", "p3", "cold")


@dataclass(frozen=True)
class Sizes:
    requests: int
    """P1: `/chat` requests one after another, one user."""
    users: int
    """P1: concurrent users."""
    per_user: int
    """P1: requests each concurrent user sends, one after another."""
    langgraph_turns: int
    """P1: turns through `langgraph dev` (0 skips it)."""
    sizes: tuple[int, ...]
    """P2: conversations per burst."""
    workers: tuple[int, ...]
    """P2: extra `carebot worker` processes, one run per value."""
    p2_timeout: float
    """P2: seconds to wait for every reply of a burst."""
    turns: tuple[int, ...]
    """P3: turns of one thread at which its size is read."""
    threads: int
    """P3: threads in the many-threads case."""
    turns_per_thread: int
    repeats: int
    """Cold start: measurements of each kind."""


FULL = Sizes(
    requests=200,
    users=8,
    per_user=25,
    langgraph_turns=20,
    sizes=(50, 200, 500),
    workers=(0, 1),
    p2_timeout=300.0,
    turns=(10, 50, 200),
    threads=100,
    turns_per_thread=10,
    repeats=3,
)
SMOKE = Sizes(
    requests=10,
    users=4,
    per_user=3,
    langgraph_turns=1,
    sizes=(5,),
    workers=(0, 1),
    p2_timeout=60.0,
    turns=(2, 4),
    threads=3,
    turns_per_thread=2,
    repeats=1,
)


@dataclass(frozen=True)
class Options:
    only: tuple[str, ...]
    sizes: Sizes
    model_delay: float
    """P2: seconds the fake model takes per call."""
    report: Path
    keep: bool
    tenants: int = 1
    """P1/P2: shops on the deployment; users and senders are split between them."""


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {sorted(unknown)}: choose from {', '.join(SECTIONS)}")
    return chosen


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="carebot benchmarks: P1 cost per turn, P2 concurrency with a slow model, P3 storage, cold start.",
    )
    parser.add_argument("--only", type=_sections, default=SECTIONS, help="comma-separated: p1,p2,p3,cold")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the benchmark works")
    parser.add_argument("--requests", type=int, help=f"P1 sequential /chat requests ({FULL.requests})")
    parser.add_argument("--users", type=int, help=f"P1 concurrent users ({FULL.users})")
    parser.add_argument("--per-user", type=int, help=f"P1 requests per concurrent user ({FULL.per_user})")
    parser.add_argument("--langgraph-turns", type=int, help=f"P1 langgraph dev turns, 0 skips ({FULL.langgraph_turns})")
    parser.add_argument("--sizes", type=_ints, help="P2 conversations per burst (50,200,500)")
    parser.add_argument("--workers", type=_ints, help="P2 extra `carebot worker` processes, a run per value (0,1)")
    parser.add_argument("--p2-timeout", type=float, help=f"P2 seconds to wait for replies ({FULL.p2_timeout:g})")
    parser.add_argument("--model-delay", type=float, default=1.0, help="P2 seconds the fake model takes per call (1.0)")
    parser.add_argument("--turns", type=_ints, help="P3 turns of one thread at which it is measured (10,50,200)")
    parser.add_argument("--threads", type=int, help=f"P3 threads in the many-threads case ({FULL.threads})")
    parser.add_argument("--turns-per-thread", type=int, help=f"P3 turns per thread there ({FULL.turns_per_thread})")
    parser.add_argument("--repeats", type=int, help=f"cold start: measurements of each ({FULL.repeats})")
    parser.add_argument("--report", type=Path, default=Path("reports/bench.json"), help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    parser.add_argument(
        "--tenants", type=int, choices=(1, 2), default=1, help="P1/P2: shops, users and senders split between them (1)"
    )
    args = parser.parse_args(argv)

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Sizes) if getattr(args, f.name) is not None}
    return Options(
        only=args.only,
        sizes=dataclasses.replace(SMOKE if args.smoke else FULL, **given),
        model_delay=args.model_delay,
        report=args.report,
        keep=args.keep,
        tenants=args.tenants,
    )
