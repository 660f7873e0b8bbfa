"""`carebot discord …`: set up the Discord app's slash command."""

from __future__ import annotations

import httpx
import typer

from carebot.cli.common import errors, say
from carebot.settings import get_settings

discord_app = typer.Typer(help="The Discord app.", no_args_is_help=True)

CHAT_COMMAND = {
    "name": "chat",
    "type": 1,  # CHAT_INPUT: a slash command
    "description": "Ask the shop's assistant about orders, shipping, returns, payments or your account",
    "options": [{"type": 3, "name": "q", "description": "Your question", "required": True}],
}


@discord_app.command("register-commands")
def register_commands() -> None:
    """Register `/chat q:<question>` as the app's global command (replaces its command list)."""
    settings = get_settings()
    if not (settings.discord_application_id and settings.discord_bot_token):
        errors.print("Set DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN first.", markup=False)
        raise typer.Exit(2)
    url = f"{settings.discord_api_base_url.rstrip('/')}/applications/{settings.discord_application_id}/commands"
    headers = {"Authorization": f"Bot {settings.discord_bot_token.get_secret_value()}"}
    try:
        response = httpx.put(url, json=[CHAT_COMMAND], headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        errors.print(f"Discord unreachable: {exc}", markup=False)
        raise typer.Exit(1) from None
    if response.is_error:
        errors.print(f"Discord answered {response.status_code}: {response.text[:300]}", markup=False)
        raise typer.Exit(1)
    say(f"Registered /chat for application {settings.discord_application_id}.")
