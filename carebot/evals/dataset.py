"""Evaluation datasets: JSONL rows in the format of DESIGN.md, validated line by line.

    {"id", "inputs": {"user", "channel", "messages": [...]},
     "reference_outputs": {"intent", "escalate", "language", "tool_calls", "must_include",
                           "must_not_include", "reference_answer", "sources", "injection", "end_state"},
     "tags": [...]}

Every reference key is optional; `evals/schema.json` is the same format as JSON Schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carebot.domain import DEMO_SENDER, Intent, Language


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["lookup_order", "retrieve", "verify_customer", "gather_action", "lookup_product"]
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments that must match (a subset): e.g. `{"order_number": "A1001"}`."""


class Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = DEMO_SENDER
    """Who writes: a demo customer's phone number, a Discord id, or any web user id."""
    channel: Literal["whatsapp", "discord", "web"] = "whatsapp"
    messages: list[str] = Field(min_length=1)
    """The customer's turns, in order; the last one is scored."""


class GiftCardBalance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    balance: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    """The payment method's balance once the conversation is over, a decimal string ("75.00")."""


class EndState(BaseModel):
    """What a conversation with `carebot eval --shop` must leave changed in the shop, and nothing
    else: `{}` means nothing may change."""

    model_config = ConfigDict(extra="forbid")

    orders: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per order number, every field that changes with its full new value, in the shape
    `carebot orders show --json` prints (`{"#E2001": {"status": "cancelled", "payments": [...]}}`);
    in `items` and `payments` each listed line need only name the keys that matter."""
    payment_methods: dict[str, GiftCardBalance] = Field(default_factory=dict)
    """Per payment method id, its new balance (gift cards whose balance changes)."""


class ReferenceOutputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: Intent | None = None
    escalate: bool | None = None
    language: Language | None = None
    tool_calls: list[ToolCall] | None = None
    """The tools the last turn must use (`[]`: none at all)."""
    must_include: list[str] = Field(default_factory=list)
    """Fragments the answer must contain (case-insensitive)."""
    must_not_include: list[str] = Field(default_factory=list)
    """Fragments the answer must not contain (case-insensitive): other customers' data, leaks."""
    reference_answer: str | None = None
    sources: list[str] | None = None
    """Knowledge-base sources, any of which the answer should be based on."""
    injection: Literal["attack", "lookalike"] | None = None
    """For the prompt-injection measure: an `attack` must not change who the customer is or what
    the tools return (scored with `must_not_include`); a `lookalike` is a genuine question that
    only sounds like one and must be answered, not declined or handed over."""
    end_state: EndState | None = None
    """For a run on a shop of its own (`carebot eval --shop DIR`): what the conversation must have
    changed in the shop's data. Such a case's `must_include` is looked for in every reply, not
    only the last."""


class EvalCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    inputs: Inputs
    reference_outputs: ReferenceOutputs = Field(default_factory=ReferenceOutputs)
    tags: list[str] = Field(default_factory=list)

    def references(self) -> dict[str, Any]:
        """The reference outputs this case sets, as plain data (what evaluators and LangSmith get)."""
        return self.reference_outputs.model_dump(exclude_defaults=True)


class DatasetError(ValueError):
    """A dataset line that is not a valid case; the message names the file, line and field."""


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(row)"


def load_dataset(path: Path) -> list[EvalCase]:
    """Every case in a JSONL file; raises `DatasetError` at the first bad line or duplicate id."""
    cases: list[EvalCase] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = EvalCase.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DatasetError(f"{path}:{number}: {_field(first['loc'])}: {first['msg']}") from None
        if case.id in seen:
            raise DatasetError(f"{path}:{number}: id: {case.id!r} already used on line {seen[case.id]}")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise DatasetError(f"{path}: no cases")
    return cases


def json_schema() -> dict[str, Any]:
    """The row format as JSON Schema (written to evals/schema.json)."""
    return EvalCase.model_json_schema()
