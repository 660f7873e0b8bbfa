"""The `carebot` command."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carebot.cli.common import JsonOption, TenantOption, exit_cleanly_on_sigterm, print_json, say, with_components
from carebot.cli.dev import dev_app
from carebot.cli.discord import discord_app
from carebot.cli.evals import eval_command
from carebot.cli.kb import kb_app
from carebot.cli.operators import operators_app
from carebot.cli.shop import customers_app, demo_app, orders_app, shop_app
from carebot.cli.tenants import tenants_app
from carebot.logs import configure_logging
from carebot.settings import get_settings
from carebot.threads import CHANNELS

if TYPE_CHECKING:
    from carebot.composition import Components

app = typer.Typer(help="carebot: a WhatsApp customer-care agent on LangGraph.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
app.add_typer(shop_app, name="shop")
app.add_typer(customers_app, name="customers")
app.add_typer(orders_app, name="orders")
app.add_typer(kb_app, name="kb")
app.add_typer(operators_app, name="operators")
app.add_typer(tenants_app, name="tenants")
app.add_typer(discord_app, name="discord")
app.add_typer(dev_app, name="dev")
app.command("eval")(eval_command)

UserOption = Annotated[
    str,
    typer.Option(
        "--user", help="The sender, trusted as is: a phone number (E.164), Discord id, or a web customer's email."
    ),
]
ChannelOption = Annotated[str, typer.Option("--channel", help="whatsapp | discord | web")]


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise typer.BadParameter(f"unknown channel {channel!r}: use whatsapp, discord or web", param_hint="--channel")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Also answer and send here (off for API-only replicas).")
    ] = True,
) -> None:
    """Serve the HTTP API, the webhooks and the chat page (and, by default, a worker)."""
    import uvicorn

    from carebot.api.app import create_app

    settings = get_settings()
    configure_logging(settings.log_level)
    exit_cleanly_on_sigterm()
    app = create_app(settings, with_worker=worker)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_config=None, access_log=False)


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None, typer.Option(help="Turns at once in this process (default WORKER_CONCURRENCY).", min=1)
    ] = None,
) -> None:
    """Answer and send messages from the job queue, without the HTTP API (run any number, on any
    machine, against the same database)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    exit_cleanly_on_sigterm()

    from carebot.composition import open_components, open_delivery

    async def work() -> None:
        async with open_components(settings) as components, open_delivery(components) as delivery:
            await delivery.jobs.run_workers(concurrency=concurrency or settings.worker_concurrency)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(work())


@app.command()
def chat(
    text: Annotated[str | None, typer.Argument(help="The customer's message; omit it to chat interactively.")] = None,
    user: UserOption = "+14155550100",
    channel: ChannelOption = "web",
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Send a message as a customer and print the agent's answer.

    A trusted local tool: it runs with the database's own access, so --user is taken as proven
    (the web chat and the webhooks never trust a claimed id).
    """
    _check_channel(channel)

    async def one(components: Components) -> None:
        result = await components.turns.chat(channel=channel, sender=user, text=text or "")
        if as_json:
            print_json(result.as_json())
        else:
            say(result.answer)
            escalated = f", escalated: {result.escalation_reason}" if result.escalate else ""
            say(f"[{result.intent}, {result.language}{escalated}]", style="dim")

    async def interactive(components: Components) -> None:
        say(f"Chatting as {user} on {channel}. Empty line or Ctrl-D to stop.", style="dim")
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                return
            if not line.strip():
                return
            result = await components.turns.chat(channel=channel, sender=user, text=line)
            say(f"bot> {result.answer}")

    with_components(one if text else interactive, tenant=tenant)


@app.command()
def history(
    user: UserOption, channel: ChannelOption = "web", as_json: JsonOption = False, tenant: TenantOption = None
) -> None:
    """Print a customer's conversation as the checkpoint holds it."""
    _check_channel(channel)

    async def read(components: Components) -> dict[str, Any]:
        messages = await components.turns.history(channel=channel, sender=user)
        return {"thread_id": components.turns.thread_id(channel, user), "messages": messages}

    thread = with_components(read, tenant=tenant)
    if as_json:
        print_json(thread)
        return
    for message in thread["messages"]:
        say(f"{message['role']:>8}: {message['text']}")


def main() -> None:
    warnings.filterwarnings("ignore", module="platformdirs")
    app()
