#!/usr/bin/env python3
"""Validate the actions eval shop (this folder) and evals/datasets/actions.v1.jsonl.

Checks the shop's schema and bookkeeping, and that every task's expected end state
follows policy.toml and the effects the actions are specified to have. Exit 1 on problems.

    python3 evals/shops/actions/check_dataset.py
"""

import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASET = HERE.parent.parent / "datasets" / "actions.v1.jsonl"
problems = []


def bad(msg):
    problems.append(msg)


def load(name):
    try:
        return json.loads((HERE / name).read_text(encoding="utf-8"))
    except Exception as e:
        bad(f"{name}: cannot load: {e}")
        return None


MONEY = re.compile(r"^\d+\.\d{2}$")
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
ADDR_KEYS = {"line1", "line2", "city", "state", "country", "zip"}
STATUSES = {"pending", "processing", "shipped", "delivered", "cancelled"}
PM_KINDS = {"card", "paypal", "bank_transfer", "cod", "gift_card"}
KINDS = ["cancel", "change_address", "change_items", "return", "exchange"]
LANGS = ["en", "id", "es"]


def ts(s, where):
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except Exception:
        bad(f"{where}: bad timestamp {s!r}")
        return None


def money(s, where):
    if not isinstance(s, str) or not MONEY.match(s):
        bad(f"{where}: amount {s!r} is not a decimal string like '12.00'")
        return Decimal(0)
    return Decimal(s)


def check_address(a, where):
    if not isinstance(a, dict) or set(a) != ADDR_KEYS:
        bad(f"{where}: address keys {sorted(a) if isinstance(a, dict) else a!r}")
        return
    for k in ("line1", "city", "country", "zip"):
        if not isinstance(a[k], str) or not a[k].strip():
            bad(f"{where}: address.{k} must be a non-empty string")
    for k in ("line2", "state"):
        if a[k] is not None and (not isinstance(a[k], str) or not a[k].strip()):
            bad(f"{where}: address.{k} must be a non-empty string or null")


# ------------------------------------------------------------------ shop
products = load("products.json") or []
customers = load("customers.json") or []
orders = load("orders.json") or []
meta = load("meta.json") or {}
try:
    policy = tomllib.loads((HERE / "policy.toml").read_text(encoding="utf-8"))
except Exception as e:
    bad(f"policy.toml: {e}")
    policy = {}
demo_policy = HERE.parent.parent.parent / "carebot" / "demo" / "policy.toml"
if demo_policy.exists() and demo_policy.read_bytes() != (HERE / "policy.toml").read_bytes():
    print("warning: policy.toml differs from carebot/demo/policy.toml (copied verbatim when written)")
AS_OF = ts(meta.get("as_of", ""), "meta.json as_of")

PROD, VAR = {}, {}
for p in products:
    if set(p) != {"id", "name", "variants"}:
        bad(f"product {p.get('id')}: keys {sorted(p)}")
    if p["id"] in PROD:
        bad(f"duplicate product id {p['id']}")
    PROD[p["id"]] = p
    if not 2 <= len(p["variants"]) <= 6:
        bad(f"product {p['id']}: {len(p['variants'])} variants (want 2-6)")
    for v in p["variants"]:
        if set(v) != {"id", "options", "price", "available"}:
            bad(f"variant {v.get('id')}: keys {sorted(v)}")
        if v["id"] in VAR:
            bad(f"duplicate variant id {v['id']}")
        VAR[v["id"]] = (p, v)
        money(v["price"], f"variant {v['id']}")
        if not isinstance(v["available"], bool):
            bad(f"variant {v['id']}: available must be a bool")
        if not v["options"] or not all(isinstance(x, str) for x in v["options"].values()):
            bad(f"variant {v['id']}: options must be a non-empty dict of strings")
    opts = [json.dumps(v["options"], sort_keys=True) for v in p["variants"]]
    if len(set(opts)) != len(opts):
        bad(f"product {p['id']}: two variants with the same options")
if not any(not v["available"] for _, v in VAR.values()):
    bad("no unavailable variant in the shop")

CUSTS, PMS, EMAIL = {}, {}, {}
for c in customers:
    want = {"id", "name", "email", "phone", "language", "address", "payment_methods"}
    if set(c) != want:
        bad(f"customer {c.get('id')}: keys {sorted(c)}")
    if c["id"] in CUSTS:
        bad(f"duplicate customer id {c['id']}")
    CUSTS[c["id"]] = c
    if c["email"] in EMAIL:
        bad(f"duplicate email {c['email']}")
    EMAIL[c["email"]] = c
    if c["language"] not in LANGS:
        bad(f"customer {c['id']}: language {c['language']!r}")
    if c["phone"] is not None and not PHONE.match(c["phone"]):
        bad(f"customer {c['id']}: phone {c['phone']!r} is not E.164")
    check_address(c["address"], f"customer {c['id']}")
    for m in c["payment_methods"]:
        if set(m) != {"id", "kind", "label", "balance"}:
            bad(f"payment method {m.get('id')}: keys {sorted(m)}")
        if m["id"] in PMS:
            bad(f"duplicate payment method id {m['id']}")
        PMS[m["id"]] = (c, m)
        if m["kind"] not in PM_KINDS:
            bad(f"payment method {m['id']}: kind {m['kind']!r}")
        if m["kind"] == "gift_card":
            money(m["balance"], f"gift card {m['id']} balance")
        elif m["balance"] is not None:
            bad(f"payment method {m['id']}: balance must be null for a {m['kind']}")
langs = Counter(c["language"] for c in customers)
if any(langs[lang] != 4 for lang in LANGS):
    bad(f"customers per language {dict(langs)} (want 4 each)")


def gift_cards(cid):
    return [m for m in CUSTS[cid]["payment_methods"] if m["kind"] == "gift_card"]


ORD, ITEM_IDS = {}, set()
for o in orders:
    n = o.get("number")
    want = {
        "number",
        "customer_id",
        "status",
        "placed_at",
        "delivered_at",
        "currency",
        "address",
        "items",
        "payments",
        "tracking_number",
    }
    if not want <= set(o) or set(o) - want - {"items_changed"}:
        bad(f"order {n}: keys {sorted(o)}")
        continue
    if not re.match(r"^#E\d{4}$", n) or n in ORD:
        bad(f"order number {n!r} malformed or duplicate")
    ORD[n] = o
    if o["customer_id"] not in CUSTS:
        bad(f"order {n}: unknown customer {o['customer_id']}")
        continue
    if o["status"] not in STATUSES:
        bad(f"order {n}: status {o['status']!r}")
    if o["currency"] != "USD":
        bad(f"order {n}: currency {o['currency']!r}")
    if "items_changed" in o and not isinstance(o["items_changed"], bool):
        bad(f"order {n}: items_changed must be a bool")
    check_address(o["address"], f"order {n}")
    placed = ts(o["placed_at"], f"order {n} placed_at")
    if placed and AS_OF and placed > AS_OF:
        bad(f"order {n}: placed after as_of")
    if o["status"] == "delivered":
        d = ts(o["delivered_at"] or "", f"order {n} delivered_at")
        if d and placed and not placed < d <= AS_OF:
            bad(f"order {n}: delivered_at not between placed_at and as_of")
    elif o["delivered_at"] is not None:
        bad(f"order {n}: delivered_at set on a {o['status']} order")
    if (o["status"] in ("shipped", "delivered")) != (o["tracking_number"] is not None):
        bad(f"order {n}: tracking_number vs status {o['status']}")
    if not o["items"]:
        bad(f"order {n}: no items")
    total = Decimal(0)
    for it in o["items"]:
        if set(it) != {"id", "product_id", "variant_id", "name", "options", "price"}:
            bad(f"order {n} item {it.get('id')}: keys {sorted(it)}")
            continue
        if it["id"] in ITEM_IDS:
            bad(f"duplicate item id {it['id']}")
        ITEM_IDS.add(it["id"])
        if not it["id"].startswith(f"it-{n[2:]}-"):
            bad(f"order {n}: item id {it['id']} does not follow it-<number>-<k>")
        pv = VAR.get(it["variant_id"])
        if not pv or pv[0]["id"] != it["product_id"]:
            bad(f"order {n} item {it['id']}: variant {it['variant_id']} is not of product {it['product_id']}")
            continue
        p, v = pv
        if it["name"] != p["name"] or it["options"] != v["options"] or it["price"] != v["price"]:
            bad(f"order {n} item {it['id']}: name/options/price differ from product/variant")
        total += money(it["price"], f"order {n} item {it['id']}")
    net = Decimal(0)
    for pay in o["payments"]:
        if set(pay) != {"payment_method_id", "amount", "kind"} or pay["kind"] not in ("payment", "refund"):
            bad(f"order {n}: payment row {pay}")
            continue
        owner = PMS.get(pay["payment_method_id"])
        if not owner or owner[0]["id"] != o["customer_id"]:
            bad(f"order {n}: payment method {pay['payment_method_id']} is not the customer's")
        a = money(pay["amount"], f"order {n} payment")
        net += a if pay["kind"] == "payment" else -a
    if not o["payments"] or o["payments"][0]["kind"] != "payment":
        bad(f"order {n}: first payment row must be a payment")
    want_net = Decimal(0) if o["status"] == "cancelled" else total
    if net != want_net:
        bad(f"order {n}: payments net {net} != {want_net}")

by_cust = defaultdict(list)
for o in orders:
    by_cust[o["customer_id"]].append(o)
for cid in CUSTS:
    if not 2 <= len(by_cust[cid]) <= 4:
        bad(f"customer {cid}: {len(by_cust[cid])} orders (want 2-4)")
if set(o["status"] for o in orders) != STATUSES:
    bad(f"statuses covered: {sorted(set(o['status'] for o in orders))}")


def days_since_delivery(o):
    return (AS_OF - ts(o["delivered_at"], o["number"])).total_seconds() / 86400


if AS_OF:
    ages = [days_since_delivery(o) for o in orders if o["status"] == "delivered"]
    if not any(a <= 30 for a in ages) or not any(a > 30 for a in ages):
        bad("need delivered orders both within and beyond 30 days")
    for a in ages:
        if 27 < a < 33:
            bad(f"a delivery {a:.1f} days before as_of is too close to the 30-day edge")


def qualifies(o, kind):
    rule = policy.get(kind, {})
    if o["status"] not in rule.get("statuses", []):
        return False
    if kind == "change_items" and rule.get("once") and o.get("items_changed"):
        return False
    if kind in ("return", "exchange") and rule.get("within_days"):
        return days_since_delivery(o) <= rule["within_days"]
    return True


# ------------------------------------------------------------------ dataset
YES = re.compile(r"^\s*(yes|yep|yeah|ok do it|confirm|ya|iya|sí|si|dale|go ahead)\b", re.I)
ORDER_REF = re.compile(r"#?\b([Ee]\d{4})\b")
ID_RE = re.compile(r"^([a-z0-9-]+-(en|id|es)-\d{2})\.([123])$")
ROW_KEYS = {"id", "inputs", "reference_outputs", "tags"}

rows = []
try:
    for i, line in enumerate(DATASET.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                bad(f"dataset line {i}: {e}")
except OSError as e:
    bad(f"dataset: {e}")

tasks = defaultdict(list)
seen = set()
for r in rows:
    rid = r.get("id", "?")
    if set(r) != ROW_KEYS:
        bad(f"{rid}: keys {sorted(r)}")
        continue
    m = ID_RE.match(rid)
    if not m or rid in seen:
        bad(f"{rid}: id malformed or duplicate")
        continue
    seen.add(rid)
    tasks[m.group(1)].append((int(m.group(3)), r))

summary = Counter()
for slug, krs in sorted(tasks.items()):
    krs.sort(key=lambda x: x[0])
    if [k for k, _ in krs] != [1, 2, 3]:
        bad(f"{slug}: phrasings {[k for k, _ in krs]} (want 1,2,3)")
        continue
    rs = [r for _, r in krs]
    lang = slug.split("-")[-2]
    first = rs[0]
    for r in rs:
        inp, ref, tags = r["inputs"], r["reference_outputs"], r["tags"]
        if set(inp) != {"user", "channel", "messages"} or inp["channel"] != "web":
            bad(f"{r['id']}: inputs {sorted(inp)} / channel {inp.get('channel')!r}")
        if set(ref) != {"language", "must_include", "end_state"}:
            bad(f"{r['id']}: reference_outputs keys {sorted(ref)}")
        msgs = inp["messages"]
        if not (1 <= len(msgs) <= 5) or not all(isinstance(x, str) and x.strip() for x in msgs):
            bad(f"{r['id']}: 1-5 non-empty customer turns wanted, got {len(msgs)}")
        for key in ("user",):
            if inp[key] != first["inputs"][key]:
                bad(f"{r['id']}: {key} differs between phrasings")
        if ref != first["reference_outputs"]:
            bad(f"{r['id']}: reference_outputs differ between phrasings of {slug}")
        if tags[:4] != first["tags"][:4]:
            bad(f"{r['id']}: leading tags differ between phrasings")
    firsts = [r["inputs"]["messages"][0].strip().lower() for r in rs]
    if len(set(firsts)) != 3:
        bad(f"{slug}: the three phrasings must open differently")

    user = first["inputs"]["user"]
    cust = EMAIL.get(user)
    if not cust:
        bad(f"{slug}: unknown user {user}")
        continue
    ref = first["reference_outputs"]
    tags = first["tags"]
    if len(tags) < 4 or tags[0] != "actions" or tags[1] not in KINDS or tags[2] != lang:
        bad(f"{slug}: tags must start actions, <kind>, <lang>, change|no_change: {tags}")
        continue
    kind, changed = tags[1], tags[3]
    summary[(kind, lang, changed)] += 1
    if ref["language"] != lang or cust["language"] != lang:
        bad(f"{slug}: language {ref['language']} / customer {cust['language']} / slug {lang}")
    es = ref["end_state"]
    if changed not in ("change", "no_change") or (changed == "change") != bool(es):
        bad(f"{slug}: tag {changed} vs end_state {'non-empty' if es else 'empty'}")
    mi = ref["must_include"]
    if not (1 <= len(mi) <= 3) or not all(isinstance(x, str) and x and "#" not in x for x in mi):
        bad(f"{slug}: must_include {mi}")

    for _, r in krs:
        msgs = r["inputs"]["messages"]
        refs = {x.upper() for m_ in msgs for x in ORDER_REF.findall(m_)}
        given_tag = "order_given" if refs else "order_not_given"
        if given_tag not in r["tags"]:
            bad(f"{r['id']}: tag {given_tag} missing")
        last = msgs[-1]
        if changed == "change" and not YES.match(last):
            bad(f"{r['id']}: a change task must end on a clear yes, ends on {last!r}")
        if changed == "no_change" and YES.match(last) and "early_yes" not in tags:
            bad(f"{r['id']}: a no-change task ends on a yes: {last!r}")
        if len(refs) > 1:
            bad(f"{r['id']}: names several orders {refs}")
        r["_refs"] = refs

    mine = [o for o in orders if o["customer_id"] == cust["id"]]
    if changed == "change":
        if set(es) - {"orders", "payment_methods"} or len(es.get("orders", {})) != 1:
            bad(f"{slug}: end_state must change exactly one order: {sorted(es)}")
            continue
        ((num, fields),) = es["orders"].items()
        o = ORD.get(num)
        if not o or o["customer_id"] != cust["id"]:
            bad(f"{slug}: {num} is not an order of {user}")
            continue
        if num[1:] not in mi:
            bad(f"{slug}: must_include lacks {num[1:]}")
        if not qualifies(o, kind):
            bad(f"{slug}: {num} ({o['status']}) does not qualify for {kind}")
        for _, r in krs:
            if r["_refs"] and r["_refs"] != {num[1:]}:
                bad(f"{r['id']}: names {r['_refs']} but changes {num}")
            if not r["_refs"]:
                q = [x["number"] for x in mine if qualifies(x, kind)]
                if q != [num]:
                    bad(f"{r['id']}: names no order but the qualifying orders are {q}")
        gc_delta = defaultdict(Decimal)
        new_rows = []
        if "payments" in fields:
            old = o["payments"]
            if fields["payments"][: len(old)] != old:
                bad(f"{slug}: payments must keep the existing rows first, unchanged")
            new_rows = fields["payments"][len(old) :]
            for pay in new_rows:
                owner = PMS.get(pay.get("payment_method_id"))
                if not owner or owner[0]["id"] != cust["id"] or set(pay) != {"payment_method_id", "amount", "kind"}:
                    bad(f"{slug}: bad new payment row {pay}")
                    continue
                a = money(pay["amount"], slug)
                if owner[1]["kind"] == "gift_card":
                    gc_delta[pay["payment_method_id"]] += a if pay["kind"] == "refund" else -a

        if kind == "cancel":
            if set(fields) != {"status", "cancel_reason", "payments"}:
                bad(f"{slug}: cancel changes status, cancel_reason, payments; got {sorted(fields)}")
            if fields.get("status") != "cancelled":
                bad(f"{slug}: status {fields.get('status')}")
            if fields.get("cancel_reason") not in policy["cancel"]["reasons"]:
                bad(f"{slug}: cancel_reason {fields.get('cancel_reason')!r} not in the policy")
            want = [
                {"payment_method_id": p["payment_method_id"], "amount": p["amount"], "kind": "refund"}
                for p in o["payments"]
                if p["kind"] == "payment"
            ]
            if new_rows != want:
                bad(f"{slug}: refunds {new_rows} != {want}")
            if not any(p["amount"] in mi for p in want):
                bad(f"{slug}: must_include should carry a refunded amount")
        elif kind == "change_address":
            if set(fields) != {"address"}:
                bad(f"{slug}: change_address changes only address; got {sorted(fields)}")
                continue
            a = fields["address"]
            check_address(a, slug)
            line = ", ".join(x for x in (a["line1"], a["line2"], a["city"], a["state"], a["zip"], a["country"]) if x)
            for _, r in krs:
                if not any(line in m_ for m_ in r["inputs"]["messages"]):
                    bad(f"{r['id']}: the customer never writes the new address {line!r}")
        elif kind == "change_items":
            if not set(fields) <= {"items", "items_changed", "payments"} or not {"items", "items_changed"} <= set(
                fields
            ):
                bad(f"{slug}: change_items fields {sorted(fields)}")
                continue
            if fields["items_changed"] is not True:
                bad(f"{slug}: items_changed must become true")
            new, old = fields["items"], o["items"]
            if [i["id"] for i in new] != [i["id"] for i in old]:
                bad(f"{slug}: item ids/order must be kept")
                continue
            diff, n_changed = Decimal(0), 0
            for ni, oi in zip(new, old, strict=False):
                if ni == oi:
                    continue
                n_changed += 1
                pv = VAR.get(ni["variant_id"])
                if (
                    set(ni) != set(oi)
                    or ni["name"] != oi["name"]
                    or ni["product_id"] != oi["product_id"]
                    or not pv
                    or pv[0]["id"] != oi["product_id"]
                    or not pv[1]["available"]
                    or ni["variant_id"] == oi["variant_id"]
                    or ni["options"] != pv[1]["options"]
                    or ni["price"] != pv[1]["price"]
                ):
                    bad(f"{slug}: changed item {ni['id']} is not a valid same-product available variant")
                    continue
                diff += Decimal(ni["price"]) - Decimal(oi["price"])
            if n_changed < 1:
                bad(f"{slug}: no item changed")
            if diff == 0:
                if "payments" in fields:
                    bad(f"{slug}: no price difference but payments changed")
            else:
                want_kind = "payment" if diff > 0 else "refund"
                if (
                    len(new_rows) != 1
                    or new_rows[0]["kind"] != want_kind
                    or Decimal(new_rows[0]["amount"]) != abs(diff)
                ):
                    bad(f"{slug}: difference {diff} needs one {want_kind} row of {abs(diff):.2f}; got {new_rows}")
                elif f"{abs(diff):.2f}" not in mi:
                    bad(f"{slug}: must_include should carry the difference {abs(diff):.2f}")
        elif kind == "return":
            if set(fields) != {"status", "return"} or fields["status"] != "return_requested":
                bad(f"{slug}: return fields {fields}")
                continue
            rt = fields["return"]
            ids = [i["id"] for i in o["items"]]
            if (
                set(rt) != {"items", "refund_to"}
                or not rt["items"]
                or len(set(rt["items"])) != len(rt["items"])
                or not set(rt["items"]) <= set(ids)
            ):
                bad(f"{slug}: return {rt}")
            allowed = set()
            if "original" in policy["return"]["refund_to"]:
                allowed.add(o["payments"][0]["payment_method_id"])
            if "gift_card" in policy["return"]["refund_to"]:
                allowed |= {g["id"] for g in gift_cards(cust["id"])}
            if rt.get("refund_to") not in allowed:
                bad(f"{slug}: refund_to {rt.get('refund_to')} not in {sorted(allowed)}")
        elif kind == "exchange":
            if set(fields) != {"status", "exchange"} or fields["status"] != "exchange_requested":
                bad(f"{slug}: exchange fields {fields}")
                continue
            ex = fields["exchange"]
            if (
                set(ex) != {"items", "new_variants", "payment_method_id"}
                or len(ex["items"]) != len(ex["new_variants"])
                or not ex["items"]
            ):
                bad(f"{slug}: exchange {ex}")
                continue
            items = {i["id"]: i for i in o["items"]}
            diff = Decimal(0)
            for iid, vid in zip(ex["items"], ex["new_variants"], strict=False):
                it, pv = items.get(iid), VAR.get(vid)
                if (
                    not it
                    or not pv
                    or pv[0]["id"] != it["product_id"]
                    or not pv[1]["available"]
                    or vid == it["variant_id"]
                ):
                    bad(f"{slug}: exchange {iid} -> {vid} is not a valid same-product available variant")
                    continue
                diff += Decimal(pv[1]["price"]) - Decimal(it["price"])
            pm = ex["payment_method_id"]
            owner = PMS.get(pm)
            if not owner or owner[0]["id"] != cust["id"]:
                bad(f"{slug}: exchange payment method {pm} is not the customer's")
            elif diff == 0 and pm != o["payments"][0]["payment_method_id"]:
                bad(f"{slug}: same price exchange must keep the original method")
            elif diff > 0 and owner[1]["kind"] == "gift_card" and Decimal(owner[1]["balance"]) < diff:
                bad(f"{slug}: gift card {pm} cannot cover {diff}")
            if diff and f"{abs(diff):.2f}" not in mi:
                bad(f"{slug}: must_include should carry the difference {abs(diff):.2f}")

        # gift card balances: exactly the cards whose balance moves, with the right value
        want_pm = {}
        for pm, d in gc_delta.items():
            bal = Decimal(PMS[pm][1]["balance"])
            if bal + d < 0:
                bad(f"{slug}: gift card {pm} would go negative")
            if d:
                want_pm[pm] = {"balance": f"{bal + d:.2f}"}
        if es.get("payment_methods", {}) != want_pm:
            bad(f"{slug}: payment_methods {es.get('payment_methods', {})} != {want_pm}")
        if want_pm and "gift_card" not in tags:
            bad(f"{slug}: a gift card moves but the task is not tagged gift_card")
    else:
        reasons = [t for t in ("refused", "not_found", "declined", "early_yes") if t in tags]
        if len(reasons) != 1:
            bad(f"{slug}: a no-change task needs exactly one of refused/not_found/declined/early_yes: {tags}")
            continue
        why = reasons[0]
        refs = set().union(*(r["_refs"] for _, r in krs))
        if len(refs) != 1:
            bad(f"{slug}: no-change tasks name one order across phrasings (so must_include can carry it); got {refs}")
            continue
        num = "#" + refs.pop()
        if num[1:] not in mi:
            bad(f"{slug}: must_include lacks {num[1:]}")
        o = ORD.get(num)
        if why == "not_found":
            if not o or o["customer_id"] == cust["id"]:
                bad(f"{slug}: not_found needs another customer's order, {num} is {'theirs' if o else 'unknown'}")
            continue
        if not o or o["customer_id"] != cust["id"]:
            bad(f"{slug}: {num} is not {user}'s order")
            continue
        if why == "refused":
            rule = policy.get(kind, {})
            sub = [
                t
                for t in ("status_not_allowed", "outside_window", "already_changed", "unavailable", "no_gift_card")
                if t in tags
            ]
            if len(sub) != 1:
                bad(f"{slug}: refused needs one reason tag: {tags}")
                continue
            sub = sub[0]
            ok = {
                "status_not_allowed": o["status"] not in rule.get("statuses", []),
                "outside_window": o["status"] in rule.get("statuses", [])
                and o["status"] == "delivered"
                and days_since_delivery(o) > rule.get("within_days", 10**9),
                "already_changed": kind == "change_items"
                and o.get("items_changed") is True
                and o["status"] in rule.get("statuses", []),
                "unavailable": kind in ("change_items", "exchange")
                and qualifies(o, kind)
                and any(not v["available"] for i in o["items"] for v in PROD[i["product_id"]]["variants"]),
                "no_gift_card": kind == "return" and qualifies(o, kind) and not gift_cards(cust["id"]),
            }[sub]
            if not ok:
                bad(f"{slug}: {num} ({o['status']}) does not warrant a '{sub}' refusal for {kind}")
        elif why == "declined":
            if not qualifies(o, kind):
                bad(f"{slug}: a declined task should be one the policy would allow ({num} {o['status']})")
        elif why == "early_yes":
            if not qualifies(o, kind):
                bad(f"{slug}: an early-yes task should be one the policy would allow")
            for _, r in krs:
                if not re.search(r"\b(yes|confirm|ya|iya|sí|dale|confirmo)\b", " ".join(r["inputs"]["messages"]), re.I):
                    bad(f"{r['id']}: early_yes task without a yes")

# ------------------------------------------------------------------ mix
n = len(tasks)
n_no = sum(v for (_k, _lang, c), v in summary.items() if c == "no_change")
if n < 60:
    bad(f"{n} tasks (want >= 60)")
if n and n_no / n < 0.40:
    bad(f"no-change share {n_no / n:.2f} (want >= 0.40)")
for lang in LANGS:
    share = sum(v for (_k, l2, _c), v in summary.items() if l2 == lang) / max(n, 1)
    if not 0.25 <= share <= 0.42:
        bad(f"language {lang}: {share:.2f} of tasks")
for k in KINDS:
    if (
        not summary.get((k, "en", "change"), 0)
        + summary.get((k, "id", "change"), 0)
        + summary.get((k, "es", "change"), 0)
    ):
        bad(f"kind {k}: no change task")

print(f"{n} tasks, {len(rows)} rows, {n - n_no} change / {n_no} no_change")
for k in KINDS:
    print(
        f"  {k:15s}",
        {lang: summary.get((k, lang, "change"), 0) + summary.get((k, lang, "no_change"), 0) for lang in LANGS},
        "change",
        sum(summary.get((k, lang, "change"), 0) for lang in LANGS),
        "no_change",
        sum(summary.get((k, lang, "no_change"), 0) for lang in LANGS),
    )
if problems:
    print(f"\n{len(problems)} problem(s):")
    for p in problems:
        print(" -", p)
    sys.exit(1)
print("OK")
