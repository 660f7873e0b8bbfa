"""`carebot demo …`, `carebot customers …`, `carebot orders …`: the shop's data, for ops and tests."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from carebot.cli.common import JsonOption, errors, print_json, say, with_database
from carebot.db.pool import Pool
from carebot.demo.seed import seed_demo_help_centre, seed_demo_shop
from carebot.domain import Order
from carebot.settings import Settings
from carebot.shop.orders import PostgresOrderSource, order_as_json

demo_app = typer.Typer(help="The demo shop.", no_args_is_help=True)
customers_app = typer.Typer(help="The shop's customers (the database's tables).", no_args_is_help=True)
orders_app = typer.Typer(help="The shop's orders (the database's tables).", no_args_is_help=True)


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
    limit: Annotated[int, typer.Option(help="Most customers to list.")] = 1000, as_json: JsonOption = False
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

    customers = with_database(read)
    if as_json:
        print_json(customers)
        return
    for c in customers:
        say(f"{c['phone']:<16} {c['name']:<24} {c['email']:<40} {c['orders']:>3} orders")


@orders_app.command("list")
def orders_list(
    customer: Annotated[str, typer.Option("--customer", help="The customer's phone number (E.164).")],
    as_json: JsonOption = False,
) -> None:
    """List a customer's orders, newest first."""

    async def read(pool: Pool, settings: Settings) -> list[Order] | None:
        source = PostgresOrderSource(pool)
        found = await source.find_customer(channel="whatsapp", sender=customer)
        return None if found is None else await source.recent_orders(found.id, limit=10_000)

    orders = with_database(read)
    if orders is None:
        errors.print(f"No customer with phone number {customer}.", markup=False)
        raise typer.Exit(1)
    if as_json:
        print_json([order_as_json(o) for o in orders])
        return
    for o in orders:
        say(f"{o.number}  {o.status:<10} {o.created_at:%Y-%m-%d}  {o.summary}")
