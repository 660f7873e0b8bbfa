"""A second demo shop on the same deployment (`carebot tenants add-demo`), to try isolation by hand.

`make run` keeps one tenant, the demo shop. This adds another with its own small shop (teas and
teapots, EUR, `T-` order numbers), a few help-centre articles, a web chat site key, and the demo
operator as its admin, so the operator app's tenant picker shows both. One of its customers has
the same phone number as the first demo shop's Alex Morgan (+14155550100): the same person
writing to both shops is two conversations, each seeing only that shop's orders.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from carebot.db.scope import tenant_scope
from carebot.demo.seed import DEMO_OPERATOR_EMAIL
from carebot.shop.help_centre.ingest import upsert_document
from carebot.shop.help_centre.loaders import load_file
from carebot.shop.importer import ImportCounts, import_shop, read_shop
from carebot.tenants.admin import NewChannel, NewTenant, TenantAdmin, UnknownOperator
from carebot.tenants.registry import Tenant

SECOND_DEMO_SLUG = "second-shop"


@dataclass(frozen=True, slots=True)
class DemoTenant:
    tenant: Tenant
    site_key: str
    shop: ImportCounts
    articles: int
    operator: str | None
    """The demo operator's email when they were made the shop's admin (None without a demo operator)."""


def _folder() -> Path:
    return Path(str(resources.files("carebot.demo") / "second_shop"))


async def add_demo_tenant(admin: TenantAdmin, slug: str = SECOND_DEMO_SLUG) -> DemoTenant:
    """Create the tenant `slug` ("Second Demo Shop") with its shop, articles, site key and admin;
    `TenantExists` when the slug is taken."""
    tenant = await admin.create(
        NewTenant(
            slug=slug,
            name="Second Demo Shop",
            languages=["en", "es"],
            default_language="en",
            currency="EUR",
            branding={"title": "Second Demo Shop", "colour": "#0f766e", "greeting": "Hi! Ask me about your tea order."},
        )
    )
    site_key = f"{slug}-site"
    await admin.add_channel(slug, NewChannel(kind="web", address=site_key))
    data = await asyncio.to_thread(read_shop, _folder())
    with tenant_scope(tenant.ref):
        counts = await import_shop(admin.pool, data)
        articles = await _ingest_articles(admin)
    try:
        await admin.grant(DEMO_OPERATOR_EMAIL, slug, "admin")
        operator: str | None = DEMO_OPERATOR_EMAIL
    except UnknownOperator:
        operator = None
    return DemoTenant(tenant=tenant, site_key=site_key, shop=counts, articles=articles, operator=operator)


async def _ingest_articles(admin: TenantAdmin) -> int:
    """The shop's help centre, in the scope the caller opened."""
    root = _folder() / "help_centre"
    files = await asyncio.to_thread(lambda: sorted(root.glob("*/*.md")))
    stored = 0
    for path in files:
        language = path.parent.name
        documents, _ = await asyncio.to_thread(
            load_file, path, source=f"second_shop/{language}/{path.name}", language=language
        )
        for document in documents:
            stored += await upsert_document(admin.pool, document) != "unchanged"
    return stored
