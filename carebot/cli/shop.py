"""`carebot demo …`, `carebot shop …`, `carebot customers …`, `carebot orders …`: the shop's data,
for ops and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer

from carebot.cli.common import JsonOption, TenantOption, errors, print_json, say, with_database
from carebot.db.pool import Pool
from carebot.demo.seed import seed_demo_help_centre, seed_demo_shop
from carebot.domain import Order
from carebot.settings import Settings
from carebot.shop.importer import ImportCounts, ShopFileError, import_shop, read_shop
from carebot.shop.orders import PostgresOrderSource, order_as_json
from carebot.shop.policy import PolicyFileError, demo_policy_path, load_policy
from carebot.shop.records import OrderRecord, ShopCustomer
from carebot.shop.store import ShopStore, money

demo_app = typer.Typer(help="The demo shop.", no_args_is_help=True)
shop_app = typer.Typer(help="The shop's own data files.", no_args_is_help=True)
customers_app = typer.Typer(help="The shop's customers (the database's tables).", no_args_is_help=True)
orders_app = typer.Typer(help="The shop's orders (the database's tables).", no_args_is_help=True)


def fail(message: str) -> typer.Exit:
    """Print `message` on stderr; raise what this returns to exit 1."""
    errors.print(message, markup=False, highlight=False, soft_wrap=True)  # a path is not cut in two
    return typer.Exit(1)


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the demo shop (customers, orders) and help centre into an empty database."""

    async def seed(pool: Pool, settings: Settings) -> tuple[int, int]:
        return await seed_demo_shop(pool), await seed_demo_help_centre(pool)

    orders, articles = with_database(seed)
    if orders or articles:
        say(f"Seeded {orders} orders and {articles} help-centre articles.")
    else:
        say("The database already has a shop and a help centre; nothing to do.")


@customers_app.command("list")
def customers_list(
    limit: Annotated[int, typer.Option(help="Most customers to list.")] = 1000,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """List customers with their contact ids and number of orders."""

    async def read(pool: Pool, settings: Settings) -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.id, c.name, c.email, c.phone, c.discord_id, c.language, count(o.id) AS orders"
                " FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
                " GROUP BY c.id ORDER BY c.id LIMIT %s",
                (limit,),
            )
            return await cur.fetchall()

    customers = with_database(read, tenant=tenant)
    if as_json:
        print_json(customers)
        return
    for c in customers:
        say(f"{c['phone']:<16} {c['name']:<24} {c['email']:<40} {c['orders']:>3} orders")


@orders_app.command("list")
def orders_list(
    customer: Annotated[str, typer.Option("--customer", help="The customer's phone number (E.164).")],
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """List a customer's orders, newest first."""

    async def read(pool: Pool, settings: Settings) -> list[Order] | None:
        source = PostgresOrderSource(pool)
        found = await source.find_customer(channel="whatsapp", sender=customer)
        return None if found is None else await source.recent_orders(found.id, limit=10_000)

    orders = with_database(read, tenant=tenant)
    if orders is None:
        raise fail(f"No customer with phone number {customer}.")
    if as_json:
        print_json([order_as_json(o) for o in orders])
        return
    for o in orders:
        say(f"{o.number}  {o.status:<10} {o.created_at:%Y-%m-%d}  {o.summary}")


@orders_app.command("show")
def orders_show(
    number: Annotated[str, typer.Argument(help="The order number, with or without its #.")],
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Show one order: its customer, address, items, payments and refunds, and every action taken on it."""

    async def read(pool: Pool, settings: Settings) -> tuple[OrderRecord, ShopCustomer | None] | None:
        store = ShopStore(pool, load_policy(settings.policy_file or demo_policy_path()))
        order = await store.order(number)
        if order is None:
            return None
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM customers WHERE shop_id = %s", (order.customer_id,))
            row = await cur.fetchone()
        return order, (await store.customer(row["id"]) if row else None)

    try:
        found = with_database(read, tenant=tenant)
    except PolicyFileError as exc:
        raise fail(str(exc)) from exc
    if found is None:
        raise fail(f"No order {number}.")
    order, customer = found
    if as_json:
        print_json(order.as_json())
        return
    for line in _order_text(order, customer):
        say(line, soft_wrap=True)


def _order_text(order: OrderRecord, customer: ShopCustomer | None) -> list[str]:
    """The order as ops read it, one fact a line."""

    def method(method_id: str) -> str:
        known = customer.payment_method(method_id) if customer else None
        return f"{known.label} ({method_id})" if known else method_id

    who = f"{customer.name} <{customer.email}>" if customer else ""
    lines = [
        f"Order {order.number}: {order.status}, placed {order.placed_at:%Y-%m-%d %H:%M %Z}"
        + (f", delivered {order.delivered_at:%Y-%m-%d %H:%M %Z}" if order.delivered_at else ""),
        f"Customer: {order.customer_id} {who}".rstrip(),
        f"Address: {order.address.one_line() if order.address else '(none)'}",
    ]
    if order.carrier or order.tracking_number:
        lines.append(f"Shipment: {order.carrier or ''} {order.tracking_number or ''}".rstrip())
    if order.cancel_reason:
        lines.append(f"Cancelled: {order.cancel_reason}")
    lines.append("Items:" + (" (changed once)" if order.items_changed else ""))
    for item in order.items:
        options = ", ".join(f"{k}: {v}" for k, v in item.options.items()) or "-"
        lines.append(f"  {item.id}  {item.name}  [{options}]  {money(item.price, order.currency)}  ({item.variant_id})")
    lines.append("Payments:" if order.payments else "Payments: none")
    lines += [f"  {p.kind}  {money(p.amount, order.currency)}  {method(p.payment_method_id)}" for p in order.payments]
    if order.return_:
        lines.append(f"Return: {', '.join(order.return_.items)}, refund to {method(order.return_.refund_to)}")
    if order.exchange:
        swaps = ", ".join(
            f"{i} -> {v}" for i, v in zip(order.exchange.items, order.exchange.new_variants, strict=False)
        )
        lines.append(f"Exchange: {swaps}, difference on {method(order.exchange.payment_method_id)}")
    lines.append("Actions:" if order.actions else "Actions: none")
    for action in order.actions:
        by = f"operator {action.operator}" if action.by == "operator" and action.operator else action.by
        where = f" in {action.conversation}" if action.conversation else ""
        lines.append(f"  {action.at:%Y-%m-%d %H:%M %Z}  {action.kind}  by {by}{where}")
    return lines


@shop_app.command("import")
def shop_import(
    folder: Annotated[Path, typer.Argument(help="The folder with products.json, customers.json and orders.json.")],
    tenant: TenantOption = None,
) -> None:
    """Import a shop's catalogue, customers and orders from its files (an upsert by id: importing the
    same files again changes nothing)."""
    try:
        data = read_shop(folder)
    except ShopFileError as exc:
        raise fail(str(exc)) from exc

    async def write(pool: Pool, settings: Settings) -> ImportCounts:
        return await import_shop(pool, data)

    try:
        counts = with_database(write, tenant=tenant)
    except psycopg.IntegrityError as exc:
        # Nothing was imported (one transaction): e.g. an email that another customer id already has.
        raise fail(f"{folder}: clashes with the shop's data: {exc.diag.message_primary}; nothing imported") from exc
    say(
        f"Imported {counts.products} products ({counts.variants} variants), {counts.customers} customers"
        f" ({counts.payment_methods} payment methods) and {counts.orders} orders."
    )
