"""The scope thresholds chosen for the shipped training examples, kept next to them.

Choosing them reads every example with classifiers fitted without it (five fits: `text_models`),
about forty seconds; a first start on a new machine would pay that before its first answer. They
depend only on the examples, the shop words and the code, so they are chosen once, when the data
changes, and shipped in `data/scope_thresholds.json` under a fingerprint of the data they were
chosen on. A process training on the shipped data reads them; any other data (a test's subset, a
shop's own examples) has another fingerprint and is chosen afresh. A test chooses them again from
the shipped data and compares, so a change of code that moves them cannot go unnoticed either.

After changing the examples or the shop words: `python -m carebot.models.shipped_scope`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carebot.models.scope import CurvePoint, ScopeThresholds

if TYPE_CHECKING:
    from carebot.models.text_models import Example

SHIPPED_FILE = "scope_thresholds.json"


def data_fingerprint(examples: Sequence[Example], shop_terms: str) -> str:
    """What the thresholds were chosen on: every example (text, intent, language) and the shop words."""
    digest = hashlib.sha256(shop_terms.encode())
    for example in examples:
        digest.update(f"\x1e{example.text}\x1f{example.intent}\x1f{example.language}".encode())
    return digest.hexdigest()[:24]


def shipped_choice(fingerprint: str) -> tuple[ScopeThresholds, tuple[CurvePoint, ...]] | None:
    """The shipped thresholds and trade-off curve, if they were chosen on data with this fingerprint."""
    path = resources.files("carebot.models") / "data" / SHIPPED_FILE
    try:
        shipped: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if shipped.get("data") != fingerprint:
        return None
    curve = tuple(CurvePoint(**point) for point in shipped["curve"])
    return ScopeThresholds(decline=shipped["decline"], answer=shipped["answer"]), curve


def shipped_document(fingerprint: str, thresholds: ScopeThresholds, curve: Sequence[CurvePoint]) -> str:
    return (
        json.dumps(
            {"data": fingerprint, **asdict(thresholds), "curve": [asdict(point) for point in curve]},
            indent=1,
        )
        + "\n"
    )


def main() -> None:
    """Choose the thresholds for the shipped examples and write them next to them."""
    from carebot.models.sentence_encoder import local_sentence_encoder
    from carebot.models.text_models import ShopTerms, choose_scope, load_examples, shop_terms_text

    examples = load_examples()
    thresholds, curve = choose_scope(examples, local_sentence_encoder(), ShopTerms.load())
    target = Path(__file__).parent / "data" / SHIPPED_FILE
    target.write_text(shipped_document(data_fingerprint(examples, shop_terms_text()), thresholds, curve))
    print(f"{target}: decline at {thresholds.decline}, answer at {thresholds.answer}")


if __name__ == "__main__":
    main()
