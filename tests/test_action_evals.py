"""The action evaluation (`carebot eval --shop DIR`): scored on what a conversation left in the
shop's data, τ-bench style. The comparison rules on hand-made states, the shop's reset and removal
on a real database, the measures, and the command on the real agent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from carebot.db.pool import Pool, open_pool
from carebot.evals.action_metrics import action_groups, pass_k
from carebot.evals.dataset import DatasetError, load_dataset
from carebot.evals.end_state import (
    ShopState,
    end_state_problems,
    foreign_writes,
    own_orders_only,
    shop_changes,
    unconfirmed_writes,
)
from carebot.evals.eval_shop import EvalShop, clashes, load_eval_shop, remove, reset, snapshot
from carebot.evals.metrics import CaseResult
from carebot.evals.thresholds import below_thresholds, failure_line, load_thresholds
from carebot.shop.actions import ActionRequest, Actor
from carebot.shop.importer import ShopFileError
from carebot.shop.store import ShopStore
from tests.conftest import BIN, REPO

SMALL_SHOP = Path(__file__).parent / "fixtures" / "small_shop"
AS_OF = datetime(2026, 11, 30, 12, tzinfo=UTC)
YUSUF = "yusuf.rossi7301@example.com"
CARD = {"payment_method_id": "credit_card_9513926", "amount": "284.35", "kind": "payment"}


def order(number: str, customer: str, **fields: Any) -> dict[str, Any]:
    return {"number": number, "customer_id": customer, "status": "pending", "cancel_reason": None,
            "payments": [CARD], "address": {"line1": "763 Broadway", "line2": None}, **fields}  # fmt: skip


BEFORE = ShopState(
    orders={"#W1": order("#W1", "yusuf"), "#W2": order("#W2", "mei", payments=[])},
    payment_methods={"gift_card_1": {"balance": "60.00", "customer_id": "yusuf"}},
)
CANCELLED = {
    "status": "cancelled",
    "cancel_reason": "ordered by mistake",
    "payments": [CARD, {**CARD, "kind": "refund"}],
}


def after(**orders: dict[str, Any]) -> ShopState:
    return ShopState(
        orders={n: {**o, **orders.get(n.lstrip("#"), {})} for n, o in BEFORE.orders.items()},
        payment_methods=BEFORE.payment_methods,
    )


# ---------- the comparison rules ----------


def test_a_listed_change_that_happened_passes_whatever_way_amounts_and_numbers_are_written() -> None:
    changes = shop_changes(BEFORE, after(W1=CANCELLED))
    assert changes == {"orders": {"#W1": CANCELLED}, "payment_methods": {}}
    # The order number without "#", amounts written otherwise, and a payment line naming only what matters.
    expected = {
        "orders": {
            "w1": {
                "status": "cancelled",
                "cancel_reason": "ordered by mistake",
                "payments": [{**CARD, "amount": "284.350"}, {"amount": 284.35, "kind": "refund"}],
            }
        }
    }
    assert end_state_problems(changes, expected) == []
    # Nothing changed and nothing should have.
    assert end_state_problems(shop_changes(BEFORE, BEFORE), {}) == []
    # "7.0" and "7.00" are the same amount, in the diff too.
    seven = ShopState(orders={"#W1": order("#W1", "yusuf", payments=[{**CARD, "amount": "7.0"}])})
    also_seven = ShopState(orders={"#W1": order("#W1", "yusuf", payments=[{**CARD, "amount": "7.00"}])})
    assert shop_changes(seven, also_seven) == {"orders": {}, "payment_methods": {}}


def test_an_unlisted_change_a_missing_change_or_a_wrong_value_fails() -> None:
    expected = {"orders": {"#W1": CANCELLED}}
    moved = {**CANCELLED, "address": {"line1": "1 Elsewhere", "line2": None}}
    assert end_state_problems(shop_changes(BEFORE, after(W1=moved)), expected) == [
        '#W1 address: changed to {"line1": "1 Elsewhere", "line2": null}, should not have changed'
    ]
    assert end_state_problems(shop_changes(BEFORE, BEFORE), expected) == [
        '#W1 cancel_reason: expected "ordered by mistake", unchanged',
        '#W1 payments: expected [{"payment_method_id": "credit_card_9513926", "amount": "284.35", "kind": "payment"},'
        ' {"payment_method_id": "credit_card_9513926", "amount": "284.35", "kind": "refund"}], unchanged',
        '#W1 status: expected "cancelled", unchanged',
    ]
    no_refund = {**CANCELLED, "payments": [CARD]}
    problems = end_state_problems(shop_changes(BEFORE, after(W1=no_refund)), expected)
    assert len(problems) == 1 and problems[0].startswith("#W1 payments: expected") and problems[0].endswith("unchanged")
    wrong_reason = {**CANCELLED, "cancel_reason": "no longer needed"}
    assert end_state_problems(shop_changes(BEFORE, after(W1=wrong_reason)), expected) == [
        '#W1 cancel_reason: expected "ordered by mistake", got "no longer needed"'
    ]
    # An order nobody expected to change, and a gift card's balance.
    spent = ShopState(orders=BEFORE.orders, payment_methods={"gift_card_1": {"balance": "10", "customer_id": "yusuf"}})
    changes = shop_changes(BEFORE, spent)
    assert changes["payment_methods"] == {"gift_card_1": {"balance": "10"}}
    assert end_state_problems(changes, {"payment_methods": {"gift_card_1": {"balance": "10.00"}}}) == []
    assert end_state_problems(changes, {}) == ['gift_card_1 balance: changed to "10", should not have changed']


def test_a_change_to_another_customers_order_is_a_foreign_write() -> None:
    changes = shop_changes(BEFORE, after(W1=CANCELLED, W2=CANCELLED))
    owners = {"orders": {"#W1": "yusuf", "#W2": "mei"}, "payment_methods": {}}
    assert foreign_writes(changes, owners, "yusuf") == ["#W2 belongs to mei, not to the customer (yusuf)"]
    assert foreign_writes(changes, owners, "mei") == ["#W1 belongs to yusuf, not to the customer (mei)"]
    score = own_orders_only(
        inputs={}, outputs={"shop_changes": changes, "owners": owners, "customer_id": "yusuf"}, reference_outputs={}
    )
    assert score["score"] is False and "#W2" in score["comment"]
    assert foreign_writes(shop_changes(BEFORE, after(W1=CANCELLED)), owners, "yusuf") == []


def test_a_write_counts_as_confirmed_only_right_after_a_proposal_of_the_same_action() -> None:
    changes = shop_changes(BEFORE, after(W1=CANCELLED))
    proposed = {"kind": "cancel", "state": "proposed", "order_number": "#W1"}
    done = {"kind": "cancel", "state": "done", "order_number": "W1"}
    assert unconfirmed_writes([None, proposed, done], changes) == []
    # Written with nothing reported, or reported done without a proposal the turn before.
    assert unconfirmed_writes([None, None], changes) == ["#W1 changed with no confirmed proposal on it"]
    assert unconfirmed_writes([proposed, None, done], changes) == [
        "turn 3: cancel of W1 done without a proposal the turn before",
        "#W1 changed with no confirmed proposal on it",
    ]
    # A proposal of another action, or on another order, does not confirm this one.
    other = {"kind": "change_address", "state": "proposed", "order_number": "#W1"}
    assert len(unconfirmed_writes([other, done], changes)) == 2
    elsewhere = {**proposed, "order_number": "#W2"}
    assert len(unconfirmed_writes([elsewhere, {**done, "order_number": "#W2"}], changes)) == 1
    # A confirmed action that changed nothing (refused by the shop afterwards, say) is no unconfirmed write.
    assert unconfirmed_writes([proposed, done], shop_changes(BEFORE, BEFORE)) == []


# ---------- the measures ----------


def case(case_id: str, *, succeeded: bool, tags: list[str], unconfirmed: bool = False) -> CaseResult:
    scores = [
        {"key": "end_state", "score": succeeded, "comment": ""},
        {"key": "must_include", "score": True, "comment": ""},
        {"key": "writes_confirmed", "score": not unconfirmed, "comment": ""},
        {"key": "own_orders_only", "score": True, "comment": ""},
    ]
    language = next(t for t in tags if t in ("en", "id", "es"))
    return CaseResult(id=case_id, tags=tags, inputs={}, reference_outputs={"language": language}, scores=scores)


def test_pass_k_counts_a_task_only_when_every_phrasing_succeeded() -> None:
    cancel, address = ["actions", "cancel", "en", "change"], ["actions", "change_address", "es", "no_change"]
    results = [
        case("cancel-mistake-en-01.1", succeeded=True, tags=cancel),
        case("cancel-mistake-en-01.2", succeeded=True, tags=cancel),
        case("cancel-mistake-en-01.3", succeeded=False, tags=cancel, unconfirmed=True),
        case("cancel-late.v2-en-02.1", succeeded=True, tags=cancel),  # a "." inside a task id
        case("cancel-late.v2-en-02.2", succeeded=True, tags=cancel),
        case("address-es-03.1", succeeded=True, tags=address),
    ]
    assert pass_k(results) == (round(2 / 3, 4), 3, 3)
    groups = action_groups(results)
    assert groups["all"]["task_success"] == round(5 / 6, 4) and groups["all"]["unconfirmed_writes"] == 1
    assert groups["kind:cancel"]["pass_k"] == 0.5 and groups["kind:cancel"]["tasks"] == 2
    assert groups["lang:es"]["pass_k"] == 1.0 and groups["no_change"]["cases"] == 1
    assert "kind:return" not in groups  # no case of that kind ran
    crashed = case("address-es-03.2", succeeded=True, tags=address)
    crashed.error = "RuntimeError: boom"
    assert action_groups([*results, crashed])["lang:es"]["pass_k"] == 0.0  # a crash is no success


def test_counts_are_gated_at_most_and_scores_at_least(tmp_path: Path) -> None:
    path = REPO / "evals" / "thresholds.actions.toml"
    thresholds = load_thresholds(path)
    good = {"all": {"task_success": 0.95, "pass_k": 0.8, "unconfirmed_writes": 0, "foreign_writes": 0}}
    assert below_thresholds(good, thresholds) == []
    bad = {"all": {"task_success": 0.5, "pass_k": 0.9, "unconfirmed_writes": 0, "foreign_writes": 2}}
    assert [failure_line(f) for f in below_thresholds(bad, thresholds)] == [
        "below threshold: all.task_success = 0.5 < 0.9",
        "above threshold: all.foreign_writes = 2 > 0.0",
    ]
    odd = tmp_path / "t.toml"
    odd.write_text("[all]\nforeign_writes = { at_least = 0 }\n")
    with pytest.raises(ValueError, match=r"all\.foreign_writes: expected a number \(a minimum\) or \{ at_most = N \}"):
        load_thresholds(odd)


def test_the_action_dataset_format_takes_an_end_state(tmp_path: Path) -> None:
    row = {
        "id": "t.1",
        "inputs": {"user": YUSUF, "channel": "web", "messages": ["cancel #W1", "yes"]},
        "reference_outputs": {
            "end_state": {"orders": {"#W1": CANCELLED}, "payment_methods": {"g": {"balance": "1.5"}}}
        },
    }
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "id": "t.2", "reference_outputs": {"end_state": {}}}))
    first, second = load_dataset(path)
    assert first.references()["end_state"]["payment_methods"] == {"g": {"balance": "1.5"}}
    assert second.references() == {"end_state": {}}  # "nothing may change" survives as {}
    row["reference_outputs"] = {"end_state": {"payment_methods": {"g": {"balance": "lots"}}}}
    path.write_text(json.dumps(row))
    with pytest.raises(DatasetError, match=r"a\.jsonl:1: reference_outputs\.end_state\.payment_methods\.g\.balance"):
        load_dataset(path)


# ---------- the shop on a real database ----------


def small_shop(folder: Path) -> Path:
    """tests/fixtures/small_shop as an eval shop: its files, its policy and the day they were written for."""
    shutil.copytree(SMALL_SHOP, folder)
    (folder / "meta.json").write_text(json.dumps({"as_of": AS_OF.isoformat()}))
    return folder


@pytest.fixture
async def shop_db(empty_database_url: str, tmp_path: Path) -> AsyncIterator[tuple[EvalShop, Pool]]:
    pool = await open_pool(empty_database_url)
    try:
        yield load_eval_shop(small_shop(tmp_path / "shop")), pool
    finally:
        await pool.close()


async def test_reset_brings_the_shop_back_after_an_action_and_remove_leaves_nothing(
    shop_db: tuple[EvalShop, Pool],
) -> None:
    shop, pool = shop_db
    shift = datetime.now(UTC) - AS_OF
    await reset(pool, shop, shift=shift)
    fresh = await snapshot(pool, shop)
    # Dates moved with today: Mei's order was delivered 4 days 21 hours before the files' day, so it still is.
    delivered = datetime.fromisoformat(fresh.orders["#W6390527"]["delivered_at"])
    assert abs(delivered - (datetime.now(UTC) - timedelta(days=4, hours=21))) < timedelta(minutes=5)

    store = ShopStore(pool, shop.policy)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM customers WHERE email = %s", (YUSUF,))
        yusuf = (await cur.fetchone())["id"]  # type: ignore[index]
        await conn.execute("UPDATE payment_methods SET balance = 1 WHERE id = 'gift_card_7006457'")
    request = ActionRequest(kind="cancel", order_number="#W2378156", reason="ordered by mistake")
    await store.perform(yusuf, request, key="k1", actor=Actor(by="bot", conversation="eval", confirming_message="yes"))
    changes = shop_changes(fresh, await snapshot(pool, shop))
    assert changes["orders"]["#W2378156"]["status"] == "cancelled"
    assert changes["payment_methods"] == {"gift_card_7006457": {"balance": "1.00"}}

    await reset(pool, shop, shift=shift)
    again = await snapshot(pool, shop)
    assert shop_changes(fresh, again) == {"orders": {}, "payment_methods": {}}
    record = await store.order("#W2378156")
    assert record is not None and record.actions == []  # what the action recorded is gone too
    # The same key acts again: a case's confirmation is not mistaken for an earlier case's.
    await store.perform(yusuf, request, key="k1", actor=Actor(by="bot", conversation="eval", confirming_message="yes"))
    assert (await store.order("#W2378156")).status == "cancelled"  # type: ignore[union-attr]

    assert await clashes(pool, shop) == []  # what an earlier run left is the shop's own
    await remove(pool, shop)
    async with pool.connection() as conn:
        for table in ("customers", "orders", "payment_methods", "order_payments", "order_actions", "products"):
            cur = await conn.execute(f"SELECT count(*) AS n FROM {table}")
            assert (await cur.fetchone())["n"] == 0, table  # type: ignore[index]


async def test_a_shop_whose_ids_the_database_already_uses_is_refused(shop_db: tuple[EvalShop, Pool]) -> None:
    shop, pool = shop_db
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO customers (shop_id, name, email) VALUES ('mei_kovacs_8020', 'Someone else', 'x@example.com')"
        )
        await conn.execute("INSERT INTO products (id, name) VALUES ('8310926033', 'Another shop''s water bottle')")
    assert sorted(await clashes(pool, shop)) == ["customer mei_kovacs_8020", "product 8310926033"]


def test_a_shop_folder_without_its_day_is_named(tmp_path: Path) -> None:
    folder = small_shop(tmp_path / "shop")
    (folder / "meta.json").write_text('{"as_of": "2026-11-30T12:00:00"}')
    with pytest.raises(ShopFileError, match="as_of needs a time zone"):
        load_eval_shop(folder)
    (folder / "meta.json").unlink()
    with pytest.raises(ShopFileError, match=r"meta\.json: expected"):
        load_eval_shop(folder)


# ---------- the command on the real agent ----------


def run_eval(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "carebot"), "eval", *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )


def action_row(case_id: str, messages: list[str], end_state: dict[str, Any], tags: list[str]) -> str:
    return json.dumps(
        {
            "id": case_id,
            "inputs": {"user": YUSUF, "channel": "web", "messages": messages},
            "reference_outputs": {"language": "en", "end_state": end_state},
            "tags": ["actions", *tags, "en"],
        }
    )


@pytest.mark.slow
def test_eval_on_a_shop_scores_the_end_state_and_leaves_the_database_as_it_was(
    cli_env: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    shop = small_shop(tmp_path / "shop")
    counts = "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), (SELECT count(*) FROM products)"
    with psycopg.connect(postgres_url) as conn:
        demo_shop = conn.execute(counts).fetchone()
    # Greetings change nothing; a shipped order cannot be cancelled under this shop's policy, so the
    # case expecting it to be fails whatever the bot does.
    rows = [
        action_row("hello.1", ["hello"], {}, ["cancel", "no_change"]),
        action_row("hello.2", ["hi there, good morning"], {}, ["cancel", "no_change"]),
        action_row(
            "cancel-shipped.1",
            ["please cancel order #W4817420, I ordered it by mistake", "yes"],
            {"orders": {"#W4817420": {"status": "cancelled"}}},
            ["cancel", "change"],
        ),
    ]
    dataset = tmp_path / "actions.jsonl"
    dataset.write_text("\n".join(rows) + "\n")
    strict = tmp_path / "t.toml"
    strict.write_text("[all]\ntask_success = 1.0\nunconfirmed_writes = { at_most = 0 }\n")
    done = run_eval(
        cli_env,
        "--dataset",
        str(dataset),
        "--shop",
        str(shop),
        "--thresholds",
        str(strict),
        "--report",
        str(tmp_path / "r"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "below threshold: all.task_success = 0.6667 < 1.0" in done.stderr
    assert "kind:cancel" in done.stdout and "pass^k" in done.stdout

    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["kind"] == "actions" and report["shop"] == str(shop) and report["concurrency"] == 1
    everything = report["groups"]["all"]
    assert (everything["task_success"], everything["pass_k"], everything["tasks"], everything["k"]) == (
        0.6667,
        0.5,
        2,
        2,
    )
    assert everything["unconfirmed_writes"] == 0 and everything["foreign_writes"] == 0
    failed = {c["id"]: c for c in report["cases"] if not c["passed"]}
    assert list(failed) == ["cancel-shipped.1"]
    # The conversation as far as it went (a turn that crashed is there, with the case's error).
    turns = failed["cancel-shipped.1"]["outputs"]["turns"]
    assert turns[0]["message"] == "please cancel order #W4817420, I ordered it by mistake"
    assert all("answer" in t and "action" in t for t in turns) or failed["cancel-shipped.1"]["error"]
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Failing cases (1)" in html and "#W4817420 status: expected &quot;cancelled&quot;, unchanged" in html
    assert "› please cancel order #W4817420" in html

    # The shop's rows and the cases' threads are gone; the demo shop is as it was.
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE email = %s", (YUSUF,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM products WHERE id = '8310926033'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id LIKE 'eval:%'").fetchone() == (0,)
        assert conn.execute(counts).fetchone() == demo_shop


@pytest.mark.slow
def test_eval_with_end_states_needs_a_readable_shop(cli_env: dict[str, str], tmp_path: Path) -> None:
    dataset = tmp_path / "actions.jsonl"
    dataset.write_text(action_row("hello.1", ["hello"], {}, ["cancel", "no_change"]) + "\n")
    no_shop = run_eval(cli_env, "--dataset", str(dataset))
    assert (
        no_shop.returncode == 2
        and "hello.1: a case with an end_state runs against a shop: add --shop DIR" in no_shop.stderr
    )
    no_meta = run_eval(cli_env, "--dataset", str(dataset), "--shop", str(SMALL_SHOP))
    assert no_meta.returncode == 2 and "meta.json" in no_meta.stderr
