"""The `carebot` command."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from carebot.db.pool import Pool
from carebot.demo.seed import seed_demo_help_centre, seed_demo_shop
from carebot.identity import CHANNELS
from carebot.logs import configure_logging
from carebot.service import CareService, open_database, open_service
from carebot.settings import get_settings
from carebot.tools.orders import Order, PostgresOrderSource, order_as_json

app = typer.Typer(help="carebot: a WhatsApp customer-care agent on LangGraph.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo shop.", no_args_is_help=True)
customers_app = typer.Typer(help="The shop's customers (the database's tables).", no_args_is_help=True)
orders_app = typer.Typer(help="The shop's orders (the database's tables).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(customers_app, name="customers")
app.add_typer(orders_app, name="orders")
console = Console()
T = TypeVar("T")

UserOption = Annotated[
    str, typer.Option("--user", help="The sender: a phone number (E.164), Discord id or web user id.")
]
ChannelOption = Annotated[str, typer.Option("--channel", help="whatsapp | discord | web")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _with_service(work: Callable[[CareService], Awaitable[T]]) -> T:
    settings = get_settings()
    configure_logging("WARNING")

    async def run() -> T:
        async with open_service(settings) as service:
            return await work(service)

    try:
        return asyncio.run(run())
    finally:
        # A short-lived process must hand its LangSmith traces over before it exits.
        from langchain_core.tracers.langchain import wait_for_all_tracers

        wait_for_all_tracers()


def _with_database(work: Callable[[Pool], Awaitable[T]], *, seed: bool = False) -> T:
    """Run `work` on the migrated database, without loading any model."""
    settings = get_settings().model_copy(update={"seed_demo_data": seed})
    configure_logging("WARNING")

    async def run() -> T:
        async with open_database(settings) as pool:
            return await work(pool)

    return asyncio.run(run())


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str))


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise typer.BadParameter(f"unknown channel {channel!r}: use whatsapp, discord or web", param_hint="--channel")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the HTTP API, the webhooks and the chat page."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        "carebot.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )


@app.command()
def chat(
    text: Annotated[str | None, typer.Argument(help="The customer's message; omit it to chat interactively.")] = None,
    user: UserOption = "+14155550100",
    channel: ChannelOption = "web",
    as_json: JsonOption = False,
) -> None:
    """Send a message as a customer and print the agent's answer."""
    _check_channel(channel)

    async def one(service: CareService) -> None:
        result = await service.chat(channel=channel, sender=user, text=text or "")
        if as_json:
            print(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            console.print(result.answer, markup=False, highlight=False)
            escalated = f", escalated: {result.escalation_reason}" if result.escalate else ""
            console.print(f"[{result.intent}, {result.language}{escalated}]", style="dim", markup=False)

    async def interactive(service: CareService) -> None:
        console.print(f"Chatting as {user} on {channel}. Empty line or Ctrl-D to stop.", style="dim")
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                return
            if not line.strip():
                return
            result = await service.chat(channel=channel, sender=user, text=line)
            console.print(f"bot> {result.answer}", markup=False, highlight=False)

    _with_service(one if text else interactive)


@app.command()
def history(user: UserOption, channel: ChannelOption = "web", as_json: JsonOption = False) -> None:
    """Print a customer's conversation as the checkpoint holds it."""
    _check_channel(channel)

    async def read(service: CareService) -> dict[str, Any]:
        messages = await service.history(channel=channel, sender=user)
        return {"thread_id": service.thread_id(channel, user), "messages": messages}

    thread = _with_service(read)
    if as_json:
        print(json.dumps(thread, ensure_ascii=False))
        return
    for message in thread["messages"]:
        console.print(f"{message['role']:>8}: {message['text']}", markup=False, highlight=False)


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the demo shop (customers, orders) and help centre into an empty database."""

    async def seed(pool: Pool) -> tuple[int, int]:
        return await seed_demo_shop(pool), await seed_demo_help_centre(pool)

    orders, articles = _with_database(seed)
    if orders or articles:
        console.print(f"Seeded {orders} orders and {articles} help-centre articles.", markup=False)
    else:
        console.print("The database already has a shop and a help centre; nothing to do.", markup=False)


@customers_app.command("list")
def customers_list(
    limit: Annotated[int, typer.Option(help="Most customers to list.")] = 1000, as_json: JsonOption = False
) -> None:
    """List customers with their contact ids and number of orders."""

    async def read(pool: Pool) -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.id, c.name, c.email, c.phone, c.discord_id, c.language, count(o.id) AS orders"
                " FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
                " GROUP BY c.id ORDER BY c.id LIMIT %s",
                (limit,),
            )
            return await cur.fetchall()

    customers = _with_database(read)
    if as_json:
        _print_json(customers)
        return
    for c in customers:
        console.print(f"{c['phone']:<16} {c['name']:<24} {c['email']:<40} {c['orders']:>3} orders", markup=False)


@orders_app.command("list")
def orders_list(
    customer: Annotated[str, typer.Option("--customer", help="The customer's phone number (E.164).")],
    as_json: JsonOption = False,
) -> None:
    """List a customer's orders, newest first."""

    async def read(pool: Pool) -> list[Order] | None:
        source = PostgresOrderSource(pool)
        found = await source.find_customer(channel="whatsapp", sender=customer)
        return None if found is None else await source.recent_orders(found.id, limit=10_000)

    orders = _with_database(read)
    if orders is None:
        console.print(f"No customer with phone number {customer}.", markup=False, style="red")
        raise typer.Exit(1)
    if as_json:
        _print_json([order_as_json(o) for o in orders])
        return
    for o in orders:
        console.print(f"{o.number}  {o.status:<10} {o.created_at:%Y-%m-%d}  {o.summary}", markup=False)


def main() -> None:
    warnings.filterwarnings("ignore", module="platformdirs")
    app()
