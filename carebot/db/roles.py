"""The two database roles: the owner, who migrates, and the app, held to row-level security.

The app connects as a role that is no superuser, has no BYPASSRLS and owns no table, so the
tenant policies bind it whatever query it sends. Migrations run as the owner (DATABASE_URL). Where
the owner may create roles (the embedded server's superuser), the app's role is created here;
elsewhere the DBA creates it and APP_DATABASE_URL names it.
"""

from __future__ import annotations

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from carebot.db.pool import Pool


class UnsafeAppRole(RuntimeError):
    """The app's database role could see every tenant's rows: the app refuses to start."""


def app_role_url(owner_url: str, role: str) -> str:
    """The owner's URL with the app's role as its user and no password (enough on a local socket
    with trust or peer authentication, as the embedded server has; elsewhere set APP_DATABASE_URL)."""
    params = conninfo_to_dict(owner_url)
    params.pop("password", None)
    params["user"] = role
    return make_conninfo("", **params)


async def prepare_app_role(owner: Pool, role: str) -> None:
    """Create the app's role if missing (when the owner may), and grant it the rows of every table.

    Idempotent, run at every start after migrations: tables created since (the job queue's, the
    checkpointer's) are granted too.
    """
    async with owner.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310420004)")  # several processes start together
        cur = await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if await cur.fetchone() is None:
            await conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(role)
                )
            )
        ident = sql.Identifier(role)
        cur = await conn.execute("SELECT current_database() AS db")
        database = (await cur.fetchone() or {})["db"]
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
            "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
        ):
            await conn.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=ident))


async def check_app_role(app: Pool) -> None:
    """Refuse to run on a role that can bypass row security, or if a tenant table lacks it."""
    async with app.connection() as conn:
        cur = await conn.execute(
            "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        me = await cur.fetchone()
        cur = await conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND r.rolname = current_user"
        )
        owned = [r["relname"] for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
            " AND c.relname NOT IN ('tenant_channels', 'operator_memberships', 'operator_sessions')"
            " AND NOT (c.relrowsecurity AND c.relforcerowsecurity"
            "          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))"
        )
        unguarded = [r["relname"] for r in await cur.fetchall()]
    if me is None or me["rolsuper"] or me["rolbypassrls"]:
        raise UnsafeAppRole(
            f"the app's database role {me['name'] if me else '?'} is a superuser or has BYPASSRLS: it would see"
            " every shop's rows. Connect the app as a plain role (APP_DATABASE_URL); DATABASE_URL is for migrations."
        )
    if owned:
        raise UnsafeAppRole(
            f"the app's database role owns tables ({', '.join(sorted(owned)[:5])}…) and could switch their row"
            " security off. Let the owner (DATABASE_URL) own them and connect the app as another role"
            " (APP_DATABASE_URL)."
        )
    if unguarded:
        raise UnsafeAppRole(f"tenant tables without forced row-level security: {', '.join(sorted(unguarded))}")
