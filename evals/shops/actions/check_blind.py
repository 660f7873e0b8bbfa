"""Check evals/datasets/actions_blind.v1.jsonl against the actions shop and its policy.

    python evals/shops/actions/check_blind.py [DATASET]

The blind set was written from the brief, the shop files and policy.toml only (not from the
implementation, its tests or the other datasets). This checker does not know the intended tasks: it
re-derives, from the shop and the policy alone, whether every expected end state is one the rules
allow, and whether every "nothing changes" row has a real reason for it. It checks:

* row shape: id ``blind-<task>.<k>`` (k = 1, 2, 3 for every task), web channel, the user is a known
  customer writing in their own language, tags (``actions``, ``blind``, one kind, the language,
  ``change``/``no_change`` agreeing with the end state), 1-3 ``must_include`` strings without ``#``;
* the three phrasings of a task: same user, language, kind, end state and ``must_include``, and
  genuinely different wording;
* every order number a customer writes exists; it is the customer's own (and the one the end state
  changes) except in ``not_found`` rows, where it must be someone else's;
* change rows, per kind, against policy.toml: allowed status, 30-day window from ``delivered_at`` to
  ``as_of``, once-only item change, same product, available variant, prices and options copied from
  the catalogue, refund rows (one per payment row) and price-difference rows, gift-card balances,
  refund destinations (original method or the customer's own gift card), exchange payment method;
  the address's parts appear in the customer's messages; amounts in ``must_include`` are the money
  the action moves;
* no-change rows carry one reason tag and the reason holds (status not allowed, outside the window,
  already changed, a product with an unavailable variant, no gift card, someone else's order), or,
  for ``declined`` / ``early_yes``, the action itself would have been allowed, an early "yes" row
  ends on its one message, and a declined row does not end on a yes;
* the mix: at least 45 tasks and 135 rows, each language 25-42 % of tasks, at least 40 % no-change,
  every kind present among the changes.

Exit status 0 when clean, 1 when anything is wrong (each problem is printed).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
Row = dict[str, Any]
DEFAULT_DATASET = ROOT / "evals" / "datasets" / "actions_blind.v1.jsonl"

KINDS = ("cancel", "change_address", "change_items", "return", "exchange")
LANGS = ("en", "id", "es")
NO_CHANGE_REASONS = (
    "status_not_allowed",
    "outside_window",
    "already_changed",
    "unavailable",
    "no_gift_card",
    "not_found",
    "declined",
    "early_yes",
)
ADDRESS_KEYS = ("line1", "line2", "city", "state", "country", "zip")
ORDER_RE = re.compile(r"#?\b(E\d{4})\b", re.IGNORECASE)
AMOUNT_RE = re.compile(r"^\d+\.\d{2}$")
ID_RE = re.compile(r"^blind-([a-z0-9][a-z0-9-]*)\.([1-9])$")
# Words that open a clear yes; a declined row must not end on one of them.
YES_OPENERS = (
    "yes",
    "yep",
    "yeah",
    "ya",
    "iya",
    "ok",
    "okay",
    "oke",
    "sí",
    "si",
    "dale",
    "confirm",
    "claro",
    "vale sí",
)


def load_shop() -> dict[str, Any]:
    products = json.loads((HERE / "products.json").read_text(encoding="utf-8"))
    customers = json.loads((HERE / "customers.json").read_text(encoding="utf-8"))
    orders = json.loads((HERE / "orders.json").read_text(encoding="utf-8"))
    meta = json.loads((HERE / "meta.json").read_text(encoding="utf-8"))
    policy = tomllib.loads((HERE / "policy.toml").read_text(encoding="utf-8"))
    variants = {v["id"]: (p, v) for p in products for v in p["variants"]}
    return {
        "products": {p["id"]: p for p in products},
        "variants": variants,
        "customers": {c["id"]: c for c in customers},
        "by_email": {c["email"]: c for c in customers},
        "orders": {o["number"]: o for o in orders},
        "as_of": parse_time(meta["as_of"]),
        "policy": policy,
    }


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def money(value: Decimal) -> str:
    return f"{value:.2f}"


class Checker:
    def __init__(self, shop: dict[str, Any]) -> None:
        self.shop = shop
        self.policy = shop["policy"]
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    # ------------------------------------------------------------------ shop helpers
    def methods(self, customer: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {pm["id"]: pm for pm in customer["payment_methods"]}

    def gift_card(self, customer: dict[str, Any]) -> dict[str, Any] | None:
        cards = [pm for pm in customer["payment_methods"] if pm["kind"] == "gift_card"]
        return cards[0] if cards else None

    def status_allowed(self, kind: str, order: dict[str, Any]) -> bool:
        return order["status"] in self.policy[kind]["statuses"]

    def within_window(self, kind: str, order: dict[str, Any]) -> bool:
        days = int(self.policy[kind].get("within_days", 0))
        if not days:
            return True
        if not order.get("delivered_at"):
            return False
        return bool(self.shop["as_of"] - parse_time(order["delivered_at"]) <= timedelta(days=days))

    def action_allowed(self, kind: str, order: dict[str, Any]) -> bool:
        if not self.status_allowed(kind, order):
            return False
        if kind in ("return", "exchange") and not self.within_window(kind, order):
            return False
        return not (kind == "change_items" and self.policy[kind].get("once") and order.get("items_changed"))

    # ------------------------------------------------------------------ rows
    def check_row(self, row: dict[str, Any]) -> dict[str, Any] | None:
        rid = str(row.get("id"))
        m = ID_RE.match(rid)
        if not m:
            self.problem(rid, "id is not blind-<task>.<k>")
            return None
        if set(row) != {"id", "inputs", "reference_outputs", "tags"}:
            self.problem(rid, f"unexpected top-level keys {sorted(row)}")
        inputs, ref, tags = row.get("inputs") or {}, row.get("reference_outputs") or {}, row.get("tags") or []
        if set(inputs) != {"user", "channel", "messages"}:
            self.problem(rid, f"inputs keys {sorted(inputs)}")
        if inputs.get("channel") != "web":
            self.problem(rid, "channel must be web")
        messages = inputs.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(x, str) and x.strip() for x in messages)
        ):
            self.problem(rid, "messages must be a non-empty list of non-empty strings")
            return None
        if set(ref) != {"language", "must_include", "end_state"}:
            self.problem(rid, f"reference_outputs keys {sorted(ref)}")
        customer = self.shop["by_email"].get(inputs.get("user"))
        if customer is None:
            self.problem(rid, f"user {inputs.get('user')!r} is not a customer")
            return None
        lang = ref.get("language")
        if lang not in LANGS:
            self.problem(rid, f"language {lang!r}")
        elif lang != customer["language"]:
            self.problem(rid, f"language {lang} but {customer['email']} writes {customer['language']}")

        kinds = [t for t in tags if t in KINDS]
        langs = [t for t in tags if t in LANGS]
        outcome = [t for t in tags if t in ("change", "no_change")]
        if tags[:2] != ["actions", "blind"]:
            self.problem(rid, "tags must start with actions, blind")
        if len(kinds) != 1 or len(langs) != 1 or len(outcome) != 1:
            self.problem(rid, f"tags need exactly one kind, language and change/no_change: {tags}")
            return None
        if langs[0] != lang:
            self.problem(rid, f"language tag {langs[0]} != {lang}")
        if len(set(tags)) != len(tags):
            self.problem(rid, "duplicate tags")
        kind = kinds[0]

        must = ref.get("must_include")
        if not isinstance(must, list) or not 1 <= len(must) <= 3 or not all(isinstance(s, str) and s for s in must):
            self.problem(rid, "must_include must hold 1-3 non-empty strings")
            must = []
        for s in must:
            if "#" in s:
                self.problem(rid, f"must_include {s!r} contains '#'")

        end_state = ref.get("end_state")
        if not isinstance(end_state, dict):
            self.problem(rid, "end_state must be an object")
            return None
        if (outcome[0] == "change") != bool(end_state):
            self.problem(rid, f"tag {outcome[0]} but end_state is {'empty' if not end_state else 'not empty'}")

        mentioned = {n.upper() for n in ORDER_RE.findall(" ".join(messages))}
        mentioned_numbers = {"#" + n for n in mentioned}
        for number in mentioned_numbers:
            if number not in self.shop["orders"]:
                self.problem(rid, f"messages name {number}, which does not exist")
        if len(mentioned_numbers) > 1:
            self.problem(rid, f"messages name several orders {sorted(mentioned_numbers)}")

        if end_state:
            self.check_change(rid, kind, customer, messages, mentioned_numbers, must, end_state, tags)
        # no-change rows are checked per task (check_tasks): a phrasing may leave the order unnamed
        return {
            "id": rid,
            "customer": customer,
            "tags": tags,
            "mentioned": mentioned_numbers,
            "task": m.group(1),
            "k": int(m.group(2)),
            "user": customer["email"],
            "lang": lang,
            "kind": kind,
            "outcome": outcome[0],
            "end_state": json.dumps(end_state, sort_keys=True),
            "must": must,
            "messages": messages,
            "order_given": bool(mentioned_numbers),
            "reason": next((t for t in tags if t in NO_CHANGE_REASONS), None),
        }

    # ------------------------------------------------------------------ change rows
    def check_change(
        self,
        rid: str,
        kind: str,
        customer: dict[str, Any],
        messages: list[str],
        mentioned: set[str],
        must: list[str],
        end_state: dict[str, Any],
        tags: list[str],
    ) -> None:
        if not set(end_state) <= {"orders", "payment_methods"} or "orders" not in end_state:
            self.problem(rid, f"end_state keys {sorted(end_state)}")
            return
        changed = end_state["orders"]
        if len(changed) != 1:
            self.problem(rid, f"a task changes exactly one order, not {sorted(changed)}")
            return
        number, fields = next(iter(changed.items()))
        order = self.shop["orders"].get(number)
        if order is None:
            self.problem(rid, f"{number} does not exist")
            return
        if order["customer_id"] != customer["id"]:
            self.problem(rid, f"{number} belongs to {order['customer_id']}, not {customer['id']}")
            return
        if mentioned and mentioned != {number}:
            self.problem(rid, f"messages name {sorted(mentioned)} but the end state changes {number}")
        if number.lstrip("#") not in must:
            self.problem(rid, f"must_include lacks {number.lstrip('#')}")
        if not self.action_allowed(kind, order):
            self.problem(rid, f"{kind} is not allowed on {number} (status {order['status']})")
        for reason in NO_CHANGE_REASONS:
            if reason in tags:
                self.problem(rid, f"change row tagged {reason}")
        gift_changes: dict[str, str] = {}
        amounts: set[str] = set()
        handler = getattr(self, f"change_{kind}")
        handler(rid, customer, order, fields, messages, gift_changes, amounts)

        expected_pm = {pid: {"balance": bal} for pid, bal in gift_changes.items()}
        if end_state.get("payment_methods", {}) != expected_pm:
            self.problem(rid, f"payment_methods {end_state.get('payment_methods')} but the rules give {expected_pm}")
        for s in must:
            if AMOUNT_RE.match(s) and s not in amounts:
                self.problem(rid, f"must_include amount {s} is not money this action moves ({sorted(amounts)})")
        # A cancel that refunds several rows to one method may be stated row by row or as one total:
        # neither form can be required, so such a task names only its order.
        refund_methods = [p["payment_method_id"] for p in order["payments"] if p["kind"] == "payment"]
        either_form = kind == "cancel" and len(refund_methods) != len(set(refund_methods))
        if either_form and any(AMOUNT_RE.match(s) for s in must):
            self.problem(rid, "several refund rows to one method: an amount in must_include would pick one wording")
        if not either_form and any(Decimal(a) for a in amounts) and not any(AMOUNT_RE.match(s) for s in must):
            self.problem(rid, f"money moves ({sorted(amounts)}) but must_include names no amount")

    def change_cancel(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        messages: list[str],
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if set(fields) != {"status", "cancel_reason", "payments"}:
            self.problem(rid, f"cancel changes status, cancel_reason, payments; not {sorted(fields)}")
        if fields.get("status") != "cancelled":
            self.problem(rid, "cancel: status must be cancelled")
        if fields.get("cancel_reason") not in self.policy["cancel"]["reasons"]:
            self.problem(rid, f"cancel_reason {fields.get('cancel_reason')!r} is not a policy reason")
        refunds = [
            {"payment_method_id": p["payment_method_id"], "amount": p["amount"], "kind": "refund"}
            for p in order["payments"]
            if p["kind"] == "payment"
        ]
        if fields.get("payments") != order["payments"] + refunds:
            self.problem(rid, "cancel: payments must be the old rows plus one refund row per payment row")
        methods = self.methods(customer)
        total = Decimal(0)
        for r in refunds:
            total += Decimal(r["amount"])
            amounts.add(r["amount"])
            pm = methods[r["payment_method_id"]]
            if pm["kind"] == "gift_card":
                old = Decimal(gift_changes.get(pm["id"], pm["balance"]))
                gift_changes[pm["id"]] = money(old + Decimal(r["amount"]))
        amounts.add(money(total))

    def change_change_address(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        messages: list[str],
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if set(fields) != {"address"}:
            self.problem(rid, f"change_address changes only address, not {sorted(fields)}")
            return
        address = fields["address"]
        if not isinstance(address, dict) or tuple(sorted(address)) != tuple(sorted(ADDRESS_KEYS)):
            self.problem(rid, f"address must have exactly {ADDRESS_KEYS}")
            return
        for key in ("line1", "city", "country", "zip"):
            if not isinstance(address[key], str) or not address[key].strip():
                self.problem(rid, f"address.{key} must be a non-empty string")
        for key in ("line2", "state"):
            if address[key] is not None and (not isinstance(address[key], str) or not address[key].strip()):
                self.problem(rid, f"address.{key} must be a string or null")
        if address == order["address"]:
            self.problem(rid, "the new address is the old one")
        text = "\n".join(messages)
        for key in ADDRESS_KEYS:
            if address.get(key) and address[key] not in text:
                self.problem(rid, f"address.{key} {address[key]!r} is not in the customer's messages")

    def change_change_items(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        messages: list[str],
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if not {"items", "items_changed"} <= set(fields) <= {"items", "items_changed", "payments"}:
            self.problem(rid, f"change_items changes items, items_changed[, payments]; not {sorted(fields)}")
            return
        if fields["items_changed"] is not True:
            self.problem(rid, "items_changed must become true")
        old_items, new_items = order["items"], fields["items"]
        if not isinstance(new_items, list) or len(new_items) != len(old_items):
            self.problem(rid, "items must be the full list, same length as before")
            return
        diff = Decimal(0)
        n_changed = 0
        for old, new in zip(old_items, new_items, strict=True):
            for key in ("id", "name", "product_id"):
                if new.get(key) != old[key]:
                    self.problem(rid, f"item {old['id']}: {key} must stay {old[key]!r}")
            if set(new) != set(old):
                self.problem(rid, f"item {old['id']}: keys {sorted(new)} != {sorted(old)}")
            if new.get("variant_id") == old["variant_id"]:
                if new != old:
                    self.problem(rid, f"item {old['id']}: unchanged variant but other fields differ")
                continue
            n_changed += 1
            found = self.shop["variants"].get(new.get("variant_id"))
            if found is None:
                self.problem(rid, f"item {old['id']}: unknown variant {new.get('variant_id')}")
                continue
            product, variant = found
            if product["id"] != old["product_id"]:
                self.problem(rid, f"item {old['id']}: {variant['id']} is another product")
            if not variant["available"]:
                self.problem(rid, f"item {old['id']}: {variant['id']} is unavailable")
            if new.get("options") != variant["options"] or new.get("price") != variant["price"]:
                self.problem(rid, f"item {old['id']}: options/price must be the catalogue's for {variant['id']}")
            diff += Decimal(variant["price"]) - Decimal(old["price"])
        if n_changed == 0:
            self.problem(rid, "change_items changes no item")
        self.check_difference(rid, customer, order, fields, diff, gift_changes, amounts)

    def check_difference(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        diff: Decimal,
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if not diff:
            if "payments" in fields:
                self.problem(rid, "no price difference, so payments must not change")
            return
        amounts.add(money(abs(diff)))
        payments = fields.get("payments")
        if (
            not isinstance(payments, list)
            or payments[:-1] != order["payments"]
            or len(payments) != len(order["payments"]) + 1
        ):
            self.problem(rid, "a price difference appends exactly one payment row")
            return
        row = payments[-1]
        kind = "payment" if diff > 0 else "refund"
        methods = self.methods(customer)
        if (
            set(row) != {"payment_method_id", "amount", "kind"}
            or row["amount"] != money(abs(diff))
            or row["kind"] != kind
        ):
            self.problem(rid, f"difference row must be {{method, {money(abs(diff))}, {kind}}}, not {row}")
        pm = methods.get(row.get("payment_method_id"))
        if pm is None:
            self.problem(rid, f"{row.get('payment_method_id')} is not one of the customer's payment methods")
            return
        if pm["kind"] == "gift_card":
            balance = Decimal(pm["balance"])
            if diff > 0 and balance < diff:
                self.problem(rid, f"gift card balance {pm['balance']} does not cover {money(diff)}")
            gift_changes[pm["id"]] = money(balance - diff)

    def change_return(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        messages: list[str],
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if set(fields) != {"status", "return"}:
            self.problem(rid, f"return changes status and return, not {sorted(fields)}")
            return
        if fields["status"] != "return_requested":
            self.problem(rid, "return: status must be return_requested")
        ret = fields["return"]
        if not isinstance(ret, dict) or set(ret) != {"items", "refund_to"}:
            self.problem(rid, "return must be {items, refund_to}")
            return
        by_id = {it["id"]: it for it in order["items"]}
        items = ret["items"]
        if not items or len(set(items)) != len(items) or not set(items) <= set(by_id):
            self.problem(rid, f"return items {items} must be distinct items of {order['number']}")
            return
        if [i for i in by_id if i in items] != items:
            self.problem(rid, "return items must be in the order's item order")
        original = {p["payment_method_id"] for p in order["payments"] if p["kind"] == "payment"}
        allowed = set(original) if "original" in self.policy["return"]["refund_to"] else set()
        card = self.gift_card(customer)
        if card and "gift_card" in self.policy["return"]["refund_to"]:
            allowed.add(card["id"])
        if ret["refund_to"] not in allowed:
            self.problem(rid, f"refund_to {ret['refund_to']} is neither the original method nor their gift card")
        amounts.add(money(sum((Decimal(by_id[i]["price"]) for i in items), Decimal(0))))

    def change_exchange(
        self,
        rid: str,
        customer: Row,
        order: Row,
        fields: Row,
        messages: list[str],
        gift_changes: dict[str, str],
        amounts: set[str],
    ) -> None:
        if set(fields) != {"status", "exchange"}:
            self.problem(rid, f"exchange changes status and exchange, not {sorted(fields)}")
            return
        if fields["status"] != "exchange_requested":
            self.problem(rid, "exchange: status must be exchange_requested")
        ex = fields["exchange"]
        if not isinstance(ex, dict) or set(ex) != {"items", "new_variants", "payment_method_id"}:
            self.problem(rid, "exchange must be {items, new_variants, payment_method_id}")
            return
        by_id = {it["id"]: it for it in order["items"]}
        items, new_variants = ex["items"], ex["new_variants"]
        if (
            not items
            or len(set(items)) != len(items)
            or not set(items) <= set(by_id)
            or len(new_variants) != len(items)
        ):
            self.problem(rid, "exchange items must be distinct items of the order, one new variant each")
            return
        diff = Decimal(0)
        for iid, vid in zip(items, new_variants, strict=True):
            found = self.shop["variants"].get(vid)
            if found is None:
                self.problem(rid, f"unknown variant {vid}")
                continue
            product, variant = found
            if product["id"] != by_id[iid]["product_id"]:
                self.problem(rid, f"{vid} is not the same product as {iid}")
            if not variant["available"]:
                self.problem(rid, f"{vid} is unavailable")
            if vid == by_id[iid]["variant_id"]:
                self.problem(rid, f"{iid} is exchanged for the variant it already is")
            diff += Decimal(variant["price"]) - Decimal(by_id[iid]["price"])
        methods = self.methods(customer)
        pm = methods.get(ex["payment_method_id"])
        if pm is None:
            self.problem(rid, f"{ex['payment_method_id']} is not one of the customer's payment methods")
            return
        if not diff:
            original = [p["payment_method_id"] for p in order["payments"] if p["kind"] == "payment"]
            if ex["payment_method_id"] != original[0]:
                self.problem(rid, f"same price: payment_method_id must be the original {original[0]}")
            return
        amounts.add(money(abs(diff)))
        if pm["kind"] == "gift_card" and (diff < 0 or Decimal(pm["balance"]) < diff):
            self.problem(rid, "a gift card is offered only when its balance covers an amount to pay")

    # ------------------------------------------------------------------ no-change rows
    def check_no_change(
        self,
        rid: str,
        kind: str,
        customer: dict[str, Any],
        messages: list[str],
        mentioned: set[str],
        must: list[str],
        tags: list[str],
    ) -> None:
        reasons = [t for t in tags if t in NO_CHANGE_REASONS]
        if len(reasons) != 1:
            self.problem(rid, f"a no-change row needs exactly one reason tag of {NO_CHANGE_REASONS}, has {reasons}")
            return
        reason = reasons[0]
        refusals = ("status_not_allowed", "outside_window", "already_changed", "unavailable", "no_gift_card")
        if reason in refusals and "refused" not in tags:
            self.problem(rid, f"{reason} row must also be tagged refused")
        if len(mentioned) != 1:
            self.problem(rid, "a no-change task must name its order in at least one phrasing")
            return
        number = next(iter(mentioned))
        order = self.shop["orders"].get(number)
        if order is None:
            return
        if number.lstrip("#") not in must:
            self.problem(rid, f"must_include lacks {number.lstrip('#')}")
        for s in must:
            if AMOUNT_RE.match(s) and reason not in ("declined", "early_yes"):
                self.problem(rid, f"a refusal moves no money; drop {s} from must_include")
        own = order["customer_id"] == customer["id"]
        if reason == "not_found":
            if own:
                self.problem(rid, f"not_found but {number} is the customer's own order")
            return
        if not own:
            self.problem(rid, f"{number} belongs to {order['customer_id']}, not {customer['id']}")
            return
        status_ok = self.status_allowed(kind, order)
        if reason == "status_not_allowed":
            if status_ok:
                self.problem(rid, f"{kind} is allowed on {order['status']} orders")
        elif reason == "outside_window":
            if not status_ok or self.within_window(kind, order):
                self.problem(rid, f"{number} is not a delivered order outside the {kind} window")
        elif reason == "already_changed":
            if kind != "change_items" or not status_ok or not order.get("items_changed"):
                self.problem(rid, f"{number} is not a pending order whose items were already changed")
        elif reason == "unavailable":
            if kind not in ("change_items", "exchange") or not self.action_allowed(kind, order):
                self.problem(rid, f"{kind} on {number} would be refused for another reason than availability")
            products = {it["product_id"] for it in order["items"]}
            if not any(not v["available"] for p in products for v in self.shop["products"][p]["variants"]):
                self.problem(rid, f"no product of {number} has an unavailable variant")
        elif reason == "no_gift_card":
            if kind != "return" or not self.action_allowed(kind, order):
                self.problem(rid, f"{kind} on {number} would be refused for another reason than the gift card")
            if self.gift_card(customer) is not None:
                self.problem(rid, f"{customer['email']} has a gift card")
        elif reason in ("declined", "early_yes"):
            if not self.action_allowed(kind, order):
                self.problem(rid, f"{reason}: {kind} on {number} would have been refused anyway")
            if reason == "early_yes" and len(messages) != 1:
                self.problem(rid, "an early-yes row is one message: the script ends at the bot's confirmation question")
            if reason == "declined":
                last = messages[-1].strip().lower()
                if len(messages) < 2 or any(re.match(rf"{re.escape(w)}\b", last) for w in YES_OPENERS):
                    self.problem(rid, "a declined row must end on a turn that is not a yes")

    # ------------------------------------------------------------------ tasks and mix
    def check_tasks(self, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            tasks[r["task"]].append(r)
        for name, group in sorted(tasks.items()):
            ks = sorted(r["k"] for r in group)
            if ks != [1, 2, 3]:
                self.problem(f"blind-{name}", f"phrasings {ks}, expected [1, 2, 3]")
            for key in ("user", "lang", "kind", "outcome", "end_state", "reason"):
                values = defaultdict(list)
                for r in group:
                    values[json.dumps(r[key])].append(r["k"])
                if len(values) != 1:
                    split = " vs ".join(",".join(map(str, sorted(ks))) for ks in values.values())
                    self.problem(f"blind-{name}", f"phrasings disagree on {key} ({split})")
            if len({json.dumps(sorted(r["must"])) for r in group}) != 1:
                self.problem(f"blind-{name}", "phrasings disagree on must_include")
            firsts = [r["messages"][0].strip().lower() for r in group]
            if len(set(firsts)) != len(firsts) or len({json.dumps(r["messages"]) for r in group}) != len(group):
                self.problem(f"blind-{name}", "phrasings are not worded differently")
            if not name.startswith(group[0]["lang"] + "-"):
                self.problem(f"blind-{name}", f"task name should start with its language {group[0]['lang']}")
            named = set().union(*(r["mentioned"] for r in group))
            for r in group:
                if r["outcome"] == "no_change":
                    self.check_no_change(
                        r["id"], r["kind"], r["customer"], r["messages"], r["mentioned"] or named, r["must"], r["tags"]
                    )
        return tasks

    def check_mix(self, rows: list[dict[str, Any]], tasks: dict[str, list[dict[str, Any]]]) -> None:
        n = len(tasks)
        if n < 45 or len(rows) < 135:
            self.problem("dataset", f"{n} tasks / {len(rows)} rows; need at least 45 / 135")
        langs = Counter(g[0]["lang"] for g in tasks.values())
        for lang in LANGS:
            share = langs[lang] / n if n else 0
            if not 0.25 <= share <= 0.42:
                self.problem("dataset", f"{lang} is {share:.0%} of tasks; keep each language near a third")
        no_change = sum(1 for g in tasks.values() if g[0]["outcome"] == "no_change")
        if n and no_change / n < 0.40:
            self.problem("dataset", f"no-change tasks are {no_change / n:.0%}; need at least 40 %")
        kinds_changed = {g[0]["kind"] for g in tasks.values() if g[0]["outcome"] == "change"}
        for kind in KINDS:
            if kind not in kinds_changed:
                self.problem("dataset", f"no change task of kind {kind}")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_DATASET
    checker = Checker(load_shop())
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            checker.problem(f"line {lineno}", "blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            checker.problem(f"line {lineno}", f"not JSON: {exc}")
            continue
        if row.get("id") in seen:
            checker.problem(f"line {lineno}", f"duplicate id {row.get('id')}")
        seen.add(row.get("id"))
        info = checker.check_row(row)
        if info:
            rows.append(info)
    tasks = checker.check_tasks(rows)
    checker.check_mix(rows, tasks)

    heads = [g[0] for g in tasks.values()]
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(tasks)} tasks, {len(rows)} rows")
    by = Counter((h["kind"], h["outcome"]) for h in heads)
    print("kind            change  no_change")
    for kind in KINDS:
        print(f"{kind:<15} {by[(kind, 'change')]:>6}  {by[(kind, 'no_change')]:>9}")
    print("languages:", dict(Counter(h["lang"] for h in heads)))
    nc = sum(1 for h in heads if h["outcome"] == "no_change")
    print(
        f"no-change tasks: {nc}/{len(heads)} ({nc / max(len(heads), 1):.0%})",
        dict(Counter(h["reason"] for h in heads if h["reason"])),
    )
    print("rows by customer turns:", dict(sorted(Counter(len(r["messages"]) for r in rows).items())))
    print("rows naming the order:", sum(r["order_given"] for r in rows), "of", len(rows))
    for p in checker.problems:
        print("PROBLEM", p)
    print("OK" if not checker.problems else f"{len(checker.problems)} problem(s)")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
