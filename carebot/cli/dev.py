"""`carebot dev`: what the demo keeps for a developer to look at."""

from __future__ import annotations

from typing import Annotated

import typer

from carebot.cli.common import JsonOption, TenantOption, print_json, say, with_database
from carebot.db.pool import Pool
from carebot.settings import Settings
from carebot.verification.delivery import read_dev_mailbox

dev_app = typer.Typer(help="Developer tools for the demo.", no_args_is_help=True)


@dev_app.command("mailbox")
def mailbox(
    limit: Annotated[int, typer.Option(help="Most messages to show, newest first.")] = 10,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """The one-time codes the demo "sent" (the dev mailbox, used when no Twilio Verify or SMTP is set)."""

    async def read(pool: Pool, settings: Settings) -> list[dict[str, object]]:
        return await read_dev_mailbox(pool, limit=limit)

    messages = with_database(read, tenant=tenant)
    if as_json:
        print_json(messages)
        return
    if not messages:
        say("The dev mailbox is empty.")
    for message in messages:
        say(f"{message['created_at']:%H:%M:%S}  to {message['recipient']}: {message['subject']}")
        say(f"    {message['body']}")
