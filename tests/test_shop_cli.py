"""`carebot shop import` and `carebot orders show`, run as ops run them: the real command, in a
subprocess, on a database of its own (a second shop's files) or on the demo shop."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN

SMALL_SHOP = Path(__file__).parent / "fixtures" / "small_shop"
# `orders show --json`: the order in the shop files' shape plus what actions did (DESIGN.md, "Shop data").
ORDER_KEYS = {
    "number", "customer_id", "status", "placed_at", "delivered_at", "currency", "address", "items", "payments",
    "tracking_number", "carrier", "shipped_at", "estimated_delivery", "cancel_reason", "items_changed", "return",
    "exchange", "actions",
}  # fmt: skip

pytestmark = pytest.mark.slow


def carebot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "carebot"), *args], env=env, capture_output=True, text=True, timeout=120)


def order_json(env: dict[str, str], number: str) -> dict[str, Any]:
    shown = carebot(env, "orders", "show", number, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def empty_env(cli_env: dict[str, str], empty_database_url: str) -> dict[str, str]:
    """`carebot` on a database with no shop (and no demo seeded into it)."""
    return {**cli_env, "DATABASE_URL": empty_database_url, "SEED_DEMO_DATA": "false"}


def test_importing_a_shop_twice_changes_nothing_and_shows_its_orders_in_the_files_shape(
    empty_env: dict[str, str],
) -> None:
    first = carebot(empty_env, "shop", "import", str(SMALL_SHOP))
    assert first.returncode == 0, first.stderr
    assert "3 products (6 variants), 2 customers (3 payment methods) and 3 orders" in first.stdout
    order = order_json(empty_env, "#W2378156")
    assert set(order) == ORDER_KEYS
    assert [(i["id"], i["variant_id"], i["price"]) for i in order["items"]] == [
        ("1151293680", "9690244451", "236.51"),
        ("4983901480", "6469567736", "47.84"),
    ]
    assert order["items"][1]["options"] == {"capacity": "1000ml", "material": "glass", "color": "blue"}
    assert order["payments"] == [{"payment_method_id": "credit_card_9513926", "amount": "284.35", "kind": "payment"}]
    assert (order["customer_id"], order["address"]["city"], order["actions"]) == (
        "yusuf_rossi_9620",
        "Philadelphia",
        [],
    )

    again = carebot(empty_env, "shop", "import", str(SMALL_SHOP))
    assert again.returncode == 0, again.stderr
    assert order_json(empty_env, "W2378156") == order  # the "#" is optional


def test_a_broken_shop_folder_is_named_and_imports_nothing(empty_env: dict[str, str], tmp_path: Path) -> None:
    shutil.copytree(SMALL_SHOP, tmp_path / "shop")
    orders = tmp_path / "shop" / "orders.json"
    orders.write_text(orders.read_text().replace('"status": "shipped"', '"status": "lost"'))
    broken = carebot(empty_env, "shop", "import", str(tmp_path / "shop"))
    assert broken.returncode == 1
    assert "orders.json" in broken.stderr and "status" in broken.stderr
    missing = carebot(empty_env, "shop", "import", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "products.json: missing" in missing.stderr
    nothing = carebot(empty_env, "orders", "show", "#W2378156")
    assert nothing.returncode == 1 and nothing.stderr.strip() == "No order #W2378156."


def test_a_customer_clashing_with_another_one_imports_nothing(empty_env: dict[str, str], tmp_path: Path) -> None:
    assert carebot(empty_env, "shop", "import", str(SMALL_SHOP)).returncode == 0
    # The same person under a new id: their email belongs to yusuf_rossi_9620 already.
    shutil.copytree(SMALL_SHOP, tmp_path / "shop")
    for name in ("customers.json", "orders.json"):
        path = tmp_path / "shop" / name
        path.write_text(path.read_text().replace("yusuf_rossi_9620", "yusuf_rossi_0001"))
    orders = tmp_path / "shop" / "orders.json"
    orders.write_text(orders.read_text().replace('"status": "pending"', '"status": "cancelled"'))
    clash = carebot(empty_env, "shop", "import", str(tmp_path / "shop"))
    assert clash.returncode == 1 and "nothing imported" in clash.stderr, clash.stderr
    assert order_json(empty_env, "#W2378156")["status"] == "pending"


def test_demo_orders_name_their_variants_address_and_payments(cli_env: dict[str, str]) -> None:
    # Alex's A1001: an oak desk lamp and two stoneware mugs, as the demo has always had it.
    order = order_json(cli_env, "A1001")
    assert set(order) == ORDER_KEYS and order["customer_id"] == "c-1001"
    assert [i["variant_id"] for i in order["items"]] == ["LH-LAMP-01-BLK", "LH-MUG-07-SND", "LH-MUG-07-SND"]
    assert [i["name"] for i in order["items"]] == ["Oak desk lamp", "Stoneware mug", "Stoneware mug"]
    assert order["address"]["city"] == "Oakland" and order["address"]["country"] == "USA"
    assert order["payments"] == [{"payment_method_id": "pm-1001-card", "amount": "73.00", "kind": "payment"}]

    shown = carebot(cli_env, "orders", "show", "a3003")
    assert shown.returncode == 0, shown.stderr
    assert "Order A3003: delivered" in shown.stdout
    assert "Sam Taylor <sam.taylor@example.com>" in shown.stdout
    assert "A3003-1-1  Oak desk lamp  [colour: black]  49.00 USD  (LH-LAMP-01-BLK)" in shown.stdout
    assert "payment  49.00 USD  Amex ending 6442 (pm-1201-card)" in shown.stdout

    # The customer reads one line per item and its quantity; a chosen size or colour is named.
    listed = carebot(cli_env, "orders", "list", "--customer", "+14155550104", "--json")
    assert listed.returncode == 0, listed.stderr
    summaries = {o["number"]: [(i["name"], i["quantity"]) for i in o["items"]] for o in json.loads(listed.stdout)}
    assert summaries["A3002"] == [("Linen sheet set (queen, white)", 1), ("Stoneware mug", 1)]
    alex = json.loads(carebot(cli_env, "orders", "list", "--customer", "+14155550100", "--json").stdout)
    assert [(i["name"], i["quantity"]) for i in alex[0]["items"]] == [("Oak desk lamp", 1), ("Stoneware mug", 2)]
