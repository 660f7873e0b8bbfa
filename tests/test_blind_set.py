"""The blind set is frozen: its bytes are the ones whose hash evals/README.md recorded before any
tuning, so a figure on it stays a figure on data the model was not shaped on."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "evals" / "datasets"
# Each blind set and the evals/README.md heading under which its hash was recorded when it was frozen.
BLIND_SETS = {
    "blind.v1.jsonl": "## The blind set (frozen)",
    "blind.v2.jsonl": "### The second blind set (frozen)",
    "blind.v3.jsonl": "### The third blind set (frozen)",
}


@pytest.mark.parametrize(("name", "heading"), BLIND_SETS.items())
def test_each_blind_set_is_byte_for_byte_the_one_frozen_in_the_evals_readme(name: str, heading: str) -> None:
    readme = (REPO / "evals" / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(heading) :]
    recorded = re.search(r"sha256\s+`([0-9a-f]{64})`", section)
    assert recorded is not None, f"evals/README.md must record {name}'s sha256 under {heading!r}"
    assert hashlib.sha256((DATASETS / name).read_bytes()).hexdigest() == recorded.group(1)


@pytest.mark.parametrize("name", BLIND_SETS)
def test_each_blind_set_covers_every_intent_and_off_topic_requests_in_each_language(name: str) -> None:
    cases = [json.loads(line) for line in (DATASETS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all({"blind", "heldout"} <= set(case["tags"]) for case in cases)
    in_scope = [c for c in cases if c["reference_outputs"]["intent"] != "out_of_scope"]
    off_topic = [c for c in cases if c["reference_outputs"]["intent"] == "out_of_scope"]
    assert len(in_scope) >= 300 and len(off_topic) >= 200
    per_language = Counter((c["reference_outputs"]["language"], c["reference_outputs"]["intent"]) for c in cases)
    intents = {c["reference_outputs"]["intent"] for c in cases}
    assert len(intents) == 11
    assert min(per_language[(language, intent)] for language in ("en", "id", "es") for intent in intents) >= 9


def test_the_blind_action_set_is_the_one_frozen_in_the_evals_readme() -> None:
    readme = (REPO / "evals" / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The blind action set (frozen)") :]
    recorded = re.search(r"sha256\s+`([0-9a-f]{64})`", section)
    assert recorded is not None, "evals/README.md must record the blind action set's sha256"
    blind = REPO / "evals" / "datasets" / "actions_blind.v1.jsonl"
    assert hashlib.sha256(blind.read_bytes()).hexdigest() == recorded.group(1)
