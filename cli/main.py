"""The `carebot` command."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from carebot.identity import CHANNELS
from carebot.logs import configure_logging
from carebot.service import CareService, open_service
from carebot.settings import get_settings

app = typer.Typer(help="carebot: a WhatsApp customer-care agent on LangGraph.", no_args_is_help=True)
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


def main() -> None:
    warnings.filterwarnings("ignore", module="platformdirs")
    app()
