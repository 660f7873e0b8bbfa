"""Row-level security as the app's own database role meets it: two shops in one database, every
tenant-owned table holding marked rows of each, and the app's role seeing one shop's rows or none.

The tables are the catalogue's (every table with a tenant_id column), so a table added without
row-level security, or without a seed in `tests/tenant_markers.py`, fails here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql
from psycopg.errors import InsufficientPrivilege
from psycopg.rows import dict_row

from carebot.composition import open_database
from carebot.db.roles import UnsafeAppRole, app_role_url
from tests.conftest import settings_for
from tests.tenant_markers import UNMARKED_TABLES, Seeded, add_tenant, seed_tenant, tenant_tables

APP_ROLE = "carebot_app"


@pytest.fixture
async def two_shops(empty_database_url: str) -> tuple[str, Seeded, Seeded]:
    """The default shop (A) and another (B), both marked in every tenant table."""
    a = await seed_tenant(empty_database_url)
    b = await seed_tenant(empty_database_url, await add_tenant(empty_database_url), "MARK-B")
    return empty_database_url, a, b


async def as_app(owner_url: str) -> psycopg.AsyncConnection[dict[str, Any]]:
    """A connection as the role the app connects as (never the owner, never a superuser)."""
    return await psycopg.AsyncConnection.connect(
        app_role_url(owner_url, APP_ROLE), row_factory=dict_row, autocommit=True
    )


async def in_scope(conn: psycopg.AsyncConnection[Any], tenant: UUID) -> None:
    """What the app's pool does at the start of each checkout's transaction (`db/pool.py`)."""
    await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))


async def rows_of(conn: psycopg.AsyncConnection[Any], table: str) -> list[dict[str, Any]]:
    """Every row the connection may see, each as its JSON text and tenant (the marker check)."""
    cur = await conn.execute(
        sql.SQL("SELECT tenant_id, row_to_json(t)::text AS body FROM {} t").format(sql.Identifier(table))
    )
    return await cur.fetchall()


async def counts_of(owner_url: str, tenant: UUID) -> dict[str, int]:
    """The tenant's rows per table, as the owner counts them."""
    counts = {}
    async with await psycopg.AsyncConnection.connect(owner_url) as owner:
        for table in sorted(await tenant_tables(owner_url)):
            cur = await owner.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)), (tenant,)
            )
            counts[table] = int((await cur.fetchone() or (0,))[0])
    return counts


async def test_every_tenant_table_is_seeded_for_both_shops_with_their_markers(
    two_shops: tuple[str, Seeded, Seeded],
) -> None:
    url, a, b = two_shops
    tables = await tenant_tables(url)
    assert "customers" in tables and "messages" in tables  # the catalogue query finds the tables
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as owner:
        for table in sorted(tables):
            seen = await rows_of(owner, table)
            for shop in (a, b):
                mine = [r for r in seen if r["tenant_id"] == shop.tenant_id]
                assert mine, f"{table} has no row of {shop.mark}: seed it in tests/tenant_markers.py"
                if table not in UNMARKED_TABLES:
                    assert all(shop.mark in r["body"] for r in mine), f"{table}: a row of {shop.mark} carries no marker"


async def test_the_app_role_sees_only_the_scoped_shop_and_nothing_without_a_scope(
    two_shops: tuple[str, Seeded, Seeded],
) -> None:
    url, a, b = two_shops
    tables = sorted(await tenant_tables(url))
    async with await as_app(url) as conn:
        for table in tables:
            assert await rows_of(conn, table) == [], f"{table} shows rows outside any tenant's scope"
        async with conn.transaction():
            await in_scope(conn, a.tenant_id)
            for table in tables:
                seen = await rows_of(conn, table)
                assert seen, f"{table} hides A's own rows from A"
                assert {r["tenant_id"] for r in seen} == {a.tenant_id}, table
                assert not [r for r in seen if "MARK-B" in r["body"]], f"{table} shows B's rows to A"
        # The setting was local to that transaction: the next one (another request) starts empty.
        for table in tables:
            assert await rows_of(conn, table) == [], f"{table}: A's scope outlived its transaction"
        async with conn.transaction():
            await in_scope(conn, b.tenant_id)
            for table in tables:
                assert {r["tenant_id"] for r in await rows_of(conn, table)} == {b.tenant_id}, table


async def test_under_a_scope_the_app_role_cannot_write_another_shops_rows(
    two_shops: tuple[str, Seeded, Seeded],
) -> None:
    url, a, b = two_shops
    before = await counts_of(url, b.tenant_id)
    async with await as_app(url) as conn:
        for table in sorted(await tenant_tables(url)):
            async with conn.transaction():
                await in_scope(conn, a.tenant_id)
                ident = sql.Identifier(table)
                moved = await conn.execute(
                    sql.SQL("UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s").format(ident), (b.tenant_id,)
                )
                assert moved.rowcount == 0, f"A updated B's rows in {table}"
                gone = await conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(ident), (b.tenant_id,))
                assert gone.rowcount == 0, f"A deleted B's rows in {table}"
                # Moving one of A's own rows into B is refused by the policy's WITH CHECK.
                with pytest.raises(InsufficientPrivilege, match="row-level security"):
                    async with conn.transaction():
                        await conn.execute(sql.SQL("UPDATE {} SET tenant_id = %s").format(ident), (b.tenant_id,))
    assert await counts_of(url, b.tenant_id) == before


async def test_inserting_a_row_for_another_shop_is_refused(two_shops: tuple[str, Seeded, Seeded]) -> None:
    url, a, b = two_shops
    async with await as_app(url) as conn:
        for statement, params in (
            ("INSERT INTO customers (tenant_id, name, email) VALUES (%s, 'x', 'planted@shop.example')", (b.tenant_id,)),
            (
                "INSERT INTO kb_documents (tenant_id, source, title, language, content_hash)"
                " VALUES (%s, 'x', 'x', 'en', 'x')",
                (b.tenant_id,),
            ),
            (
                "INSERT INTO dev_mailbox (tenant_id, recipient, subject, body) VALUES (%s, 'x', 'x', 'x')",
                (b.tenant_id,),
            ),
        ):
            with pytest.raises(InsufficientPrivilege, match="row-level security"):
                async with conn.transaction():
                    await in_scope(conn, a.tenant_id)
                    await conn.execute(statement, params)  # type: ignore[arg-type]  # test statements
        # Without a scope nothing can be written at all (no tenant_id passes the policy).
        with pytest.raises(InsufficientPrivilege, match="row-level security"):
            async with conn.transaction():
                await conn.execute("INSERT INTO dev_mailbox (recipient, subject, body) VALUES ('x', 'x', 'x')")
        # Inside A's scope a row without a tenant_id becomes A's.
        async with conn.transaction():
            await in_scope(conn, a.tenant_id)
            cur = await conn.execute(
                "INSERT INTO dev_mailbox (recipient, subject, body) VALUES ('x', 'x', 'x') RETURNING tenant_id"
            )
            assert (await cur.fetchone() or {})["tenant_id"] == a.tenant_id


async def test_the_app_role_cannot_bypass_or_switch_off_row_security(two_shops: tuple[str, Seeded, Seeded]) -> None:
    url, _, _ = two_shops
    async with await as_app(url) as conn:
        cur = await conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert await cur.fetchone() == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False}
        cur = await conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            " AND pg_get_userbyid(c.relowner) = current_user"
        )
        assert await cur.fetchall() == []
        with pytest.raises(InsufficientPrivilege):
            await conn.execute("ALTER TABLE customers DISABLE ROW LEVEL SECURITY")
        with pytest.raises(InsufficientPrivilege):
            await conn.execute("SET row_security = off; SELECT * FROM customers")


async def test_the_app_refuses_to_start_connected_as_a_superuser(empty_database_url: str) -> None:
    """APP_DATABASE_URL set to the owner's (superuser) URL by mistake: the app does not start."""
    settings = settings_for(empty_database_url, app_database_url=empty_database_url, seed_demo_data=False)
    with pytest.raises(UnsafeAppRole, match="superuser or has BYPASSRLS"):
        async with open_database(settings):
            pass
