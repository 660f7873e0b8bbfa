"""The shop's rules for actions, read from its policy file (`POLICY_FILE`, TOML).

The checks in `shop.actions` read this and nothing else: a model may propose an action, only the
policy says whether it may happen. Every key is documented in the README ("The policy file").
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carebot.shop.records import ShopOrderStatus

RefundTarget = Literal["original", "gift_card"]


class _Rule(BaseModel):
    # A misspelt key is an error, not a rule silently left at its default.
    model_config = ConfigDict(extra="forbid", frozen=True)

    statuses: list[ShopOrderStatus] = Field(default_factory=list)
    """The order statuses the action is allowed in; empty: never."""


class CancelRule(_Rule):
    reasons: list[str] = Field(default_factory=lambda: ["no longer needed", "ordered by mistake"], min_length=1)
    """The reasons a customer may give, recorded verbatim as `cancel_reason`."""


class ChangeAddressRule(_Rule):
    pass


class ChangeItemsRule(_Rule):
    once: bool = True
    """Items of an order may be changed once only."""
    same_product: bool = True
    """A line may only become another variant of its own product."""


class WindowRule(_Rule):
    within_days: int = Field(default=30, ge=0)
    """Days after delivery the action stays open; 0 = no limit."""


def _original_only() -> list[RefundTarget]:
    return ["original"]


class ReturnRule(WindowRule):
    refund_to: list[RefundTarget] = Field(default_factory=_original_only, min_length=1)
    """Where a refund may go: the payment method the order was paid with, or the customer's gift card."""


class ExchangeRule(WindowRule):
    same_product: bool = True


class Policy(BaseModel):
    """A shop's policy file. A table left out allows nothing for that action."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    cancel: CancelRule = Field(default_factory=CancelRule)
    change_address: ChangeAddressRule = Field(default_factory=ChangeAddressRule)
    change_items: ChangeItemsRule = Field(default_factory=ChangeItemsRule)
    return_: ReturnRule = Field(default_factory=ReturnRule, alias="return")
    exchange: ExchangeRule = Field(default_factory=ExchangeRule)

    def statuses(self, kind: str) -> list[ShopOrderStatus]:
        """The statuses that allow the action `kind` (`cancel`, `change_address`, …)."""
        rule: _Rule = getattr(self, "return_" if kind == "return" else kind)
        return rule.statuses


class PolicyFileError(ValueError):
    """The policy file is missing or says something the checks cannot read."""


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; the error names the file and the bad key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"policy file {path}: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValueError as exc:
        raise PolicyFileError(f"policy file {path}: {exc}") from exc


def demo_policy_path() -> Path:
    """The demo shop's policy file, shipped with the package."""
    return Path(__file__).resolve().parent.parent / "demo" / "policy.toml"
