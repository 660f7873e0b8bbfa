"""`carebot tenants …`: the platform's shops, their channels, their teams; export and delete.

These commands work on the platform's tables (no `--tenant`: the shop is an argument). Channel
secrets are never printed (only their last four characters) and are best not passed as arguments,
which `ps` and shell history show: each secret option also reads its environment variable, or
standard input when given as `-`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError

from carebot.cli.common import JsonOption, errors, print_json, say
from carebot.db.scope import tenant_scope
from carebot.desk.stats import tenant_stats
from carebot.logs import configure_logging
from carebot.settings import get_settings
from carebot.tenants.admin import (
    ChannelTaken,
    InvalidTenantSettings,
    NewChannel,
    NewTenant,
    ProtectedTenant,
    TenantAdmin,
    UnknownOperator,
    UnknownTenant,
    set_platform_admin,
)
from carebot.tenants.deletion import TenantStillEnabled, delete_tenant
from carebot.tenants.export import export_tenant
from carebot.tenants.registry import ChannelKind, Tenant, TenantExists
from carebot.tenants.secrets import SecretsUnreadable

tenants_app = typer.Typer(
    help="Tenants: the shops this deployment serves (platform administration).", no_args_is_help=True
)
T = TypeVar("T")

SlugArgument = Annotated[str, typer.Argument(help="The tenant's slug (`carebot tenants list`).")]
KindArgument = Annotated[ChannelKind, typer.Argument(help="whatsapp | discord | web")]
AddressArgument = Annotated[
    str, typer.Argument(help="WhatsApp number (E.164) or messaging service SID, Discord application id, web site key.")
]
# What a refused command says (exit 2) instead of a traceback.
_REFUSALS = (
    UnknownTenant,
    TenantExists,
    ChannelTaken,
    InvalidTenantSettings,
    ProtectedTenant,
    TenantStillEnabled,
    UnknownOperator,
    SecretsUnreadable,
)


def with_tenants(work: Callable[[TenantAdmin], Awaitable[T]]) -> T:
    """Run `work` on the migrated database as the platform (no tenant's scope); a refusal is
    printed and ends the command with exit code 2."""
    settings = get_settings()
    configure_logging("WARNING")
    from carebot.composition import open_database, open_tenants

    async def run() -> T:
        async with open_database(settings) as pool:
            with tenant_scope(None):
                return await work(TenantAdmin(pool, await open_tenants(settings, pool)))

    try:
        return asyncio.run(run())
    except _REFUSALS as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(2) from None


def _valid(model: Callable[..., T], **fields: Any) -> T:
    """The model built from the command's options, or exit 2 with what is wrong."""
    try:
        return model(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            errors.print(f"{where + ': ' if where else ''}{error['msg']}", markup=False)
        raise typer.Exit(2) from None


def _tenant_line(tenant: Tenant) -> str:
    state = "enabled" if tenant.enabled else f"disabled {tenant.disabled_at:%Y-%m-%d}"
    return f"{tenant.slug:<24} {tenant.name:<32} {','.join(tenant.languages):<10} {tenant.currency}  {state}"


@tenants_app.command("add")
def tenants_add(
    slug: Annotated[str, typer.Argument(help="Lowercase letters, digits and -, as in its URLs.")],
    name: Annotated[str, typer.Option(help="The shop's name, as customers see it.")],
    language: Annotated[str, typer.Option(help="Default language: en, id or es.")] = "en",
    languages: Annotated[str, typer.Option(help="Languages answered in, comma-separated.")] = "en,id,es",
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "USD",
    messages_per_month: Annotated[int | None, typer.Option(help="Monthly message quota (default: none).")] = None,
    messages_per_minute: Annotated[int | None, typer.Option(help="Rate limit (default: none).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a tenant (a shop). Then give it channels (`channel-add`) and a team (`grant`)."""
    new = _valid(
        NewTenant,
        slug=slug,
        name=name,
        default_language=language,
        languages=[part.strip() for part in languages.split(",") if part.strip()],
        currency=currency,
        messages_per_month=messages_per_month,
        messages_per_minute=messages_per_minute,
    )
    tenant = with_tenants(lambda admin: admin.create(new))
    if as_json:
        print_json(tenant.model_dump(mode="json"))
    else:
        say(f"Added tenant {tenant.slug} ({tenant.name}). Its WhatsApp webhook: /webhooks/whatsapp/{tenant.slug}")


@tenants_app.command("list")
def tenants_list(as_json: JsonOption = False) -> None:
    """List the tenants."""
    tenants = with_tenants(lambda admin: admin.registry.list())
    if as_json:
        print_json([t.model_dump(mode="json") for t in tenants])
        return
    for tenant in tenants:
        say(_tenant_line(tenant))


@tenants_app.command("show")
def tenants_show(slug: SlugArgument, as_json: JsonOption = False) -> None:
    """A tenant, its channels (secrets as their last four characters), its team and its month so far
    (customer messages against the quota, conversations, hand-overs, actions)."""

    async def read(admin: TenantAdmin) -> dict[str, Any]:
        tenant = await admin.require(slug)
        channels = await admin.registry.channels(tenant.id)
        return {
            **tenant.model_dump(mode="json"),
            "channels": [c.model_dump(mode="json", exclude={"tenant_id"}) for c in channels],
            "operators": [m.model_dump() for m in await admin.members(tenant)],
            "this_month": (await tenant_stats(admin.pool, tenant)).model_dump(mode="json"),
        }

    shown = with_tenants(read)
    if as_json:
        print_json(shown)
        return
    say(json.dumps(shown, indent=2, ensure_ascii=False))


@tenants_app.command("disable")
def tenants_disable(slug: SlugArgument) -> None:
    """Stop serving a tenant (its data stays; its channels are refused until `enable`)."""
    with_tenants(lambda admin: admin.set_enabled(slug, False))
    say(f"Disabled {slug}.")


@tenants_app.command("enable")
def tenants_enable(slug: SlugArgument) -> None:
    """Serve a disabled tenant again."""
    with_tenants(lambda admin: admin.set_enabled(slug, True))
    say(f"Enabled {slug}.")


@tenants_app.command("export")
def tenants_export(
    slug: SlugArgument,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: standard output).")] = None,
) -> None:
    """Everything stored for a tenant, as JSON: customers, orders, catalogue, help centre,
    conversations with their transcripts, inbox/outbox, verifications (no secrets)."""

    async def export(admin: TenantAdmin) -> dict[str, Any]:
        return await export_tenant(admin, await admin.require(slug))

    document = with_tenants(export)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    out.write_text(text + "\n", encoding="utf-8")
    errors.print(f"Wrote {slug}'s export to {out}.", markup=False)


@tenants_app.command("delete")
def tenants_delete(
    slug: SlugArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete: there is no undo.")] = False,
) -> None:
    """Delete a disabled tenant and every row it owns (conversations, checkpoints, queued jobs,
    customers, orders, help centre, channels, memberships). Export it first if it may be needed."""
    if not yes:
        errors.print(f"This deletes {slug} and all its data for good; run again with --yes.", markup=False)
        raise typer.Exit(2)

    async def delete(admin: TenantAdmin) -> dict[str, int]:
        report = await delete_tenant(admin.pool, await admin.require(slug))
        admin.registry.forget()
        return report.rows

    rows = with_tenants(delete)
    say(f"Deleted {slug}: " + (", ".join(f"{n} {table}" for table, n in sorted(rows.items())) or "no rows"))


def _secret(value: str | None) -> str | None:
    """`-` reads the secret from standard input (one line), so it appears in no argument list."""
    if value == "-":
        return sys.stdin.readline().strip()
    return value


@tenants_app.command("channel-add")
def channel_add(
    slug: SlugArgument,
    kind: KindArgument,
    address: AddressArgument,
    account_sid: Annotated[str | None, typer.Option(help="WhatsApp: the Twilio (sub)account SID (AC…).")] = None,
    messaging_service_sid: Annotated[str | None, typer.Option(help="WhatsApp: messaging service SID (MG…).")] = None,
    public_key: Annotated[str | None, typer.Option(help="Discord: the application's public key (hex).")] = None,
    auth_token: Annotated[
        str | None, typer.Option(envvar="CAREBOT_AUTH_TOKEN", help="WhatsApp: that account's auth token; - for stdin.")
    ] = None,
    bot_token: Annotated[
        str | None, typer.Option(envvar="CAREBOT_BOT_TOKEN", help="Discord: the bot token; - for stdin.")
    ] = None,
    identity_secret: Annotated[
        str | None,
        typer.Option(envvar="CAREBOT_IDENTITY_SECRET", help="Web: the identity-token (JWT) secret; - for stdin."),
    ] = None,
) -> None:
    """Give a tenant a channel: a WhatsApp number, a Discord application or a web chat site key."""
    channel = _valid(
        NewChannel,
        kind=kind,
        address=address,
        account_sid=account_sid,
        messaging_service_sid=messaging_service_sid,
        public_key=public_key,
        auth_token=_secret(auth_token),
        bot_token=_secret(bot_token),
        identity_secret=_secret(identity_secret),
    )
    added = with_tenants(lambda admin: admin.add_channel(slug, channel))
    hints = ", ".join(f"{name} {value}" for name, value in added.hints.items())
    say(f"Added {kind} {address} to {slug}" + (f" (secrets: {hints})." if hints else "."))


@tenants_app.command("channel-remove")
def channel_remove(slug: SlugArgument, kind: KindArgument, address: AddressArgument) -> None:
    """Remove one of a tenant's channels."""
    if not with_tenants(lambda admin: admin.remove_channel(slug, kind, address)):
        errors.print(f"{slug} has no {kind} channel {address}.", markup=False)
        raise typer.Exit(1)
    say(f"Removed {kind} {address} from {slug}.")


@tenants_app.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored secret under the current SECRET_KEY (after moving the old key to
    SECRET_KEYS_RETIRED; once this has run, the old key can be dropped)."""
    rotated = with_tenants(lambda admin: admin.registry.rotate_secrets())
    say(f"Re-sealed {rotated} secret sets under the current SECRET_KEY.")


@tenants_app.command("grant")
def grant(
    email: Annotated[str, typer.Argument(help="An operator's email (`carebot operators add` first).")],
    slug: SlugArgument,
    role: Annotated[
        Literal["admin", "agent"], typer.Option(help="agent: answers customers; admin: also the help centre.")
    ] = "agent",
) -> None:
    """Make an operator a member of a tenant's team (or change their role there)."""
    with_tenants(lambda admin: admin.grant(email, slug, role))
    say(f"{email} is now {role} of {slug}.")


@tenants_app.command("revoke")
def revoke(email: Annotated[str, typer.Argument(help="The operator's email.")], slug: SlugArgument) -> None:
    """Take an operator off a tenant's team."""
    if not with_tenants(lambda admin: admin.revoke(email, slug)):
        errors.print(f"{email} is not on {slug}'s team.", markup=False)
        raise typer.Exit(1)
    say(f"{email} is no longer on {slug}'s team.")


@tenants_app.command("platform-admin")
def platform_admin(
    email: Annotated[str, typer.Argument(help="The operator's email.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the right away instead.")] = False,
) -> None:
    """Let an operator manage every tenant (/admin/tenants), or with --revoke stop them."""
    with_tenants(lambda admin: set_platform_admin(admin.pool, email, not revoke))
    say(f"{email} is {'no longer' if revoke else 'now'} a platform admin.")


@tenants_app.command("add-demo")
def add_demo(slug: Annotated[str, typer.Argument(help="The demo tenant's slug.")] = "second-shop") -> None:
    """Add a second demo shop (teas, EUR, a web site key, a help centre; the demo operator as its
    admin) to try tenant isolation by hand."""
    from carebot.demo.second_tenant import add_demo_tenant

    demo = with_tenants(lambda admin: add_demo_tenant(admin, slug))
    say(
        f"Added {demo.tenant.name} as {demo.tenant.slug}: {demo.shop.orders} orders, {demo.shop.customers} customers,"
        f" {demo.articles} help-centre articles, web site key {demo.site_key}."
    )
    if demo.operator:
        say(f"{demo.operator} is its admin: pick it in the operator app's tenant picker.")
