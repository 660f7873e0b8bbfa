"""Dependencies point one way (DESIGN.md, "Layout"): import-linter checks the layers contract in
pyproject.toml (`[tool.importlinter]`) against the imports of the code on disk."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import BIN, REPO


def lint_imports(code_root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the `carebot` package under `code_root` (it imports from its working
    directory), with the repository's contract."""
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=code_root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_points_down_the_layers() -> None:
    run = lint_imports(REPO)
    # The report names each import that points the wrong way, with its chain and line number.
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_back_edge_or_a_module_with_no_layer_breaks_the_contract(tmp_path: Path) -> None:
    """The check itself: on a copy of the code, the database layer imports the graph, and a new
    top-level module has no place in the layers yet."""
    code = tmp_path / "carebot"
    shutil.copytree(REPO / "carebot", code, ignore=shutil.ignore_patterns("__pycache__"))
    (code / "db" / "back_edge.py").write_text("import carebot.graph\n")
    (code / "newcomer.py").write_text("")
    run = lint_imports(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "carebot.db is not allowed to import carebot.graph:" in run.stdout
    assert "- carebot.db.back_edge -> carebot.graph (l.1)" in run.stdout
    assert "- carebot.newcomer" in run.stdout  # "not listed as layers"
