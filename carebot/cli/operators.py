"""`carebot operators …`: the shop's people who answer customers in the inbox at /admin."""

from __future__ import annotations

import getpass
import os
from typing import Annotated, Literal

import typer

from carebot.cli.common import JsonOption, TenantOption, errors, print_json, say, with_database
from carebot.db.pool import Pool
from carebot.settings import Settings

operators_app = typer.Typer(help="Operators: who signs in at /admin to answer customers.", no_args_is_help=True)

# For scripts and CI: the password without a prompt (never as an argument, which `ps` shows).
PASSWORD_ENV = "CAREBOT_OPERATOR_PASSWORD"


def _password() -> str:
    if (given := os.environ.get(PASSWORD_ENV)) is not None:
        return given
    first = getpass.getpass("Password (10 characters or more): ")
    if getpass.getpass("Again: ") != first:
        errors.print("The passwords differ.")
        raise typer.Exit(2)
    return first


@operators_app.command("add")
def operators_add(
    email: Annotated[str, typer.Argument(help="Their email address: what they sign in with.")],
    name: Annotated[str | None, typer.Option(help="Shown to colleagues and in the transcript.")] = None,
    role: Annotated[
        Literal["admin", "agent"], typer.Option(help="agent: answers customers; admin: also manages the help centre.")
    ] = "agent",
    tenant: TenantOption = None,
    platform_admin: Annotated[
        bool, typer.Option("--platform-admin", help="Also let them manage every tenant (/admin/tenants).")
    ] = False,
) -> None:
    """Add an operator to a shop's team (--tenant, default the default shop). The password is
    asked for (or read from CAREBOT_OPERATOR_PASSWORD)."""
    from carebot.desk.operators import OperatorAccounts, OperatorExists
    from carebot.tenants.admin import set_platform_admin

    if "@" not in email:
        raise typer.BadParameter("expected an email address", param_hint="EMAIL")
    password = _password()

    async def add(pool: Pool, settings: Settings) -> None:
        account = await OperatorAccounts(pool).add(
            email=email, name=name or email.split("@")[0], role=role, password=password
        )
        if platform_admin:
            await set_platform_admin(pool, account.email or email, True)
        also = " and platform admin" if platform_admin else ""
        say(f"Added {account.name} <{account.email}> as {account.role}{also}. They sign in at /admin.")

    try:
        with_database(add, tenant=tenant)
    except (OperatorExists, ValueError) as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(2) from None


@operators_app.command("list")
def operators_list(as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """List operators (never their passwords)."""
    from carebot.desk.operators import OperatorAccounts

    async def read(pool: Pool, settings: Settings) -> list[dict[str, str | int | None]]:
        return [
            {"id": a.id, "email": a.email, "name": a.name, "role": a.role, "created_at": a.created_at}
            for a in await OperatorAccounts(pool).list()
        ]

    accounts = with_database(read, tenant=tenant)
    if as_json:
        print_json(accounts)
        return
    if not accounts:
        say("No operators yet: add one with `carebot operators add EMAIL --name NAME`.")
    for a in accounts:
        say(f"{a['email']:<40} {a['name']!s:<24} {a['role']}")
