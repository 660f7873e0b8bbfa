"""Files the offline model builds once and later processes read back (under `Settings.cache_dir`).

Each file is named by what it was built from, so a stale one is never read; one that cannot be
read is built again. Losing them only costs the next start the seconds they save.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

_Kept = TypeVar("_Kept")


def write_aside(path: Path, write: Callable[[BinaryIO], object]) -> bool:
    """Write the file aside, then rename it: a process reading at the same time never sees half
    a file. False when the disk refused."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        with partial.open("wb") as file:
            write(file)
        partial.replace(path)
    except OSError:
        return False
    return True


def write_pickle(path: Path, value: object) -> bool:
    return write_aside(path, lambda file: pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: Path, kind: type[_Kept]) -> _Kept | None:
    """The `kind` pickled at `path`; None when there is none or it cannot be read."""
    try:
        # Our own files, written by `write_pickle` under the same data dir as the database.
        with path.open("rb") as file:
            kept = pickle.load(file)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return kept if isinstance(kept, kind) else None
