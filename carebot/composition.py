"""The composition root: database (migrated, and seeded with the demo shop where allowed),
models, knowledge base, order source and graph, opened and closed together; then the job queue
with the channels, the answering and the outbox, and the operators' desk.

The API's lifespan, the CLI, the Studio entry point and the workers all open them here; nothing
else builds these from settings.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph.state import CompiledStateGraph
from pydantic import SecretStr

from carebot.db.app_secrets import app_secret
from carebot.db.embedded import resolve_database_url
from carebot.db.migrations import apply_job_queue_schema, apply_migrations
from carebot.db.pool import Pool, open_pool
from carebot.db.roles import app_role_url, check_app_role, prepare_app_role
from carebot.db.scope import DEFAULT_TENANT, tenant_scope
from carebot.db.tenant_list import for_each_tenant
from carebot.delivery.acks import AckFirst
from carebot.delivery.answering import PendingTurns, trigger_words
from carebot.delivery.channels.registry import Channels, build_channels
from carebot.delivery.consent import SenderControls
from carebot.delivery.inbox import Outcome
from carebot.delivery.jobs import EmbeddedWorkers, JobQueue
from carebot.delivery.outbox import Outbox
from carebot.demo.seed import seed_demo_help_centre, seed_demo_operator, seed_demo_shop
from carebot.desk.desk import Desk
from carebot.desk.handover import HandoffWebhook
from carebot.desk.order_actions import OrderActions
from carebot.desk.replies import Replies
from carebot.desk.status import ConversationStatus
from carebot.desk.timers import HandoverTimers
from carebot.desk.views import ConversationViews
from carebot.graph import GraphDeps, build_graph
from carebot.models.factory import Models, build_embedder, build_models
from carebot.models.sentence_encoder import LOCAL_EMBEDDINGS_NAME
from carebot.settings import Settings
from carebot.shop.actions import ShopActions
from carebot.shop.help_centre.search import (
    Embedder,
    KnowledgeBase,
    PostgresKnowledgeBase,
    bedrock_knowledge_base,
    check_embeddings_table,
    embed_pending_chunks,
)
from carebot.shop.order_api import HttpOrderSource
from carebot.shop.order_api_actions import OrderApiActions
from carebot.shop.orders import OrderSource, PostgresOrderSource
from carebot.shop.policy import demo_policy_path, load_policy
from carebot.shop.store import ShopStore
from carebot.shop.tenant_shops import ShopSource, TenantOrderSource, TenantShopActions, TenantShops
from carebot.tenants.quotas import Quotas
from carebot.tenants.registry import TenantRegistry
from carebot.tenants.secrets import SecretBox
from carebot.tenants.settings import ShopSettingsSource
from carebot.turns import TurnCheckpointer, TurnRunner
from carebot.verification.codes import OneTimeCodes
from carebot.verification.delivery import DevMailbox, Mailer, SmtpMailer, TwilioVerify

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Components:
    """Everything a process opens once and shares: the API, the CLI, Studio and the worker."""

    settings: Settings
    """As configured, with the thread-id salt filled in from the database when none was set."""
    signing_key: bytes
    """A key of this database's own (web sessions, one-time code hashes), the same in every process."""
    pool: Pool
    models: Models
    embedder: Embedder | None
    deps: GraphDeps
    """What the graph's nodes talk to (Studio builds its own graph over the same ones)."""
    graph: CompiledStateGraph[Any, Any, Any, Any]
    """The care graph on the Postgres checkpointer."""
    turns: TurnRunner
    verifier: OneTimeCodes
    tenants: TenantRegistry
    """The shops this deployment serves, and their channels."""
    shops: TenantShops
    """Each tenant's order source and actions (its order API or the database's orders, its policy)."""
    shop_settings: ShopSettingsSource
    """Each tenant's shop as a turn sees it: name, languages, currency, support hours, templates."""
    quotas: Quotas
    """Each tenant's monthly message quota and rate limit, checked where messages are stored."""


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Pool]:
    """The database, migrated (checkpoint tables included) and, if configured, seeded with the
    demo shop when empty. Ops commands that need no model open only this."""
    url = await resolve_database_url(settings.database_url, settings.data_dir)
    await migrate_as_owner(settings, url)
    app_url = settings.app_database_url or app_role_url(url, settings.database_app_role)
    pool = await open_pool(app_url, max_size=settings.db_pool_max_size, acquire_timeout=settings.db_timeout)
    try:
        await check_app_role(pool)
        yield pool
    finally:
        await pool.close()


async def migrate_as_owner(settings: Settings, url: str) -> None:
    """As the tables' owner: checkpoint tables, migrations, the job queue's schema, the app's role
    and its grants, and (where configured) the demo shop as the default tenant."""
    owner = await open_pool(url, max_size=2, acquire_timeout=settings.db_timeout)
    try:
        with tenant_scope(None):  # schema work is for no tenant (and cannot run inside a transaction)
            await AsyncPostgresSaver(owner).setup()  # type: ignore[arg-type]
            await apply_migrations(owner)
            await apply_job_queue_schema(owner)
            await prepare_app_role(owner, settings.database_app_role)
            await describe_default_tenant(owner, settings)
        if settings.seeds_demo_data:
            with tenant_scope(DEFAULT_TENANT):
                await seed_demo_shop(owner)
                await seed_demo_help_centre(owner)
                await seed_demo_operator(owner)
    finally:
        await owner.close()


async def describe_default_tenant(owner: Pool, settings: Settings) -> None:
    """The default tenant's row says what the environment says (SHOP_NAME, SHOP_CURRENCY,
    DEFAULT_LANGUAGE): the single-shop install's settings stay its source, and the operator app's
    header and `carebot tenants list` show the shop's own name."""
    async with owner.connection() as conn:
        await conn.execute(
            "UPDATE tenants SET name = %(name)s, currency = %(currency)s, default_language = %(language)s"
            " WHERE id = %(id)s AND (name, currency, default_language)"
            " IS DISTINCT FROM (%(name)s, %(currency)s, %(language)s)",
            {
                "id": DEFAULT_TENANT.id,
                "name": settings.shop_name,
                "currency": settings.shop_currency,
                "language": settings.default_language,
            },
        )


@asynccontextmanager
async def open_order_source(settings: Settings, pool: Pool) -> AsyncIterator[OrderSource]:
    """The environment's order source (ORDERS_API_URL, else the database's orders), for tools
    that work on one shop outside the tenants' shops (`open_shops` serves the app)."""
    if not settings.orders_api_url:
        yield PostgresOrderSource(pool)
        return
    source = HttpOrderSource(
        settings.orders_api_url,
        token=settings.orders_api_token.get_secret_value() if settings.orders_api_token else None,
        timeout=settings.orders_api_timeout,
        retries=settings.orders_api_retries,
    )
    try:
        yield source
    finally:
        await source.aclose()


def shop_actions(settings: Settings, pool: Pool, orders: OrderSource | None = None) -> ShopActions:
    """The environment's shop actions under POLICY_FILE (else the demo's): the app's tables, or
    with ORDERS_API_URL the shop's own API through the HTTP client of `orders` (the source
    `open_order_source` opened, which closes it)."""
    policy = load_policy(settings.policy_file or demo_policy_path())
    if not settings.orders_api_url:
        return ShopStore(pool, policy)
    if not isinstance(orders, HttpOrderSource):
        raise ValueError("with ORDERS_API_URL, actions need the order source open_order_source opened")
    return OrderApiActions(orders, pool, policy)


@asynccontextmanager
async def open_shops(settings: Settings, pool: Pool, shop_settings: ShopSettingsSource) -> AsyncIterator[TenantShops]:
    """Each tenant's order source and actions, built on its first turn from its settings (the
    default tenant's from the environment) and closed on exit."""

    async def source_of(tenant_id: UUID) -> ShopSource:
        shop = await shop_settings.of(tenant_id)
        return ShopSource(shop.policy_file, shop.orders_api_url, shop.orders_api_token)

    shops = TenantShops(pool, source_of, timeout=settings.orders_api_timeout, retries=settings.orders_api_retries)
    try:
        yield shops
    finally:
        await shops.aclose()


async def open_knowledge_base(settings: Settings, pool: Pool, embedder: Embedder | None) -> KnowledgeBase:
    """Bedrock's Knowledge Base when KNOWLEDGE_BASE_ID is set; else the database's help centre,
    with every chunk embedded first when EMBEDDINGS is on."""
    if settings.knowledge_base_id:
        return bedrock_knowledge_base(
            settings.knowledge_base_id, region=settings.aws_region, endpoint_url=settings.bedrock_agent_endpoint_url
        )
    if embedder is not None:
        await check_embeddings_table(pool)
        embedded = sum((await for_each_tenant(pool, lambda: embed_pending_chunks(pool, embedder))).values())
        if embedded:
            log.info("kb_embedded", extra={"chunks": embedded, "model": embedder.name})
    return PostgresKnowledgeBase(pool, embedder=embedder)


async def secret_box(settings: Settings, pool: Pool) -> SecretBox:
    """Tenants' secrets sealed under SECRET_KEY (else the database's own key, for the demo)."""
    key = (
        settings.secret_key.get_secret_value() if settings.secret_key else await app_secret(pool, "tenant_secrets_key")
    )
    return SecretBox(key, [k.get_secret_value() for k in settings.secret_keys_retired])


async def open_tenants(settings: Settings, pool: Pool) -> TenantRegistry:
    """The tenants and their channels, their secrets sealed (`secret_box`)."""
    return TenantRegistry(pool, await secret_box(settings, pool))


async def with_database_secrets(settings: Settings, pool: Pool) -> tuple[Settings, bytes]:
    """The settings with a thread-id salt (the configured one, else the database's own, so that
    thread ids never use a public default), and the database's signing key."""
    if settings.thread_id_salt is None:
        salt = await app_secret(pool, "thread_id_salt")
        settings = settings.model_copy(update={"thread_id_salt": SecretStr(salt)})
    return settings, bytes.fromhex(await app_secret(pool, "signing_key"))


@asynccontextmanager
async def open_verifier(settings: Settings, pool: Pool, orders: OrderSource, key: bytes) -> AsyncIterator[OneTimeCodes]:
    """One-time codes through Twilio Verify when TWILIO_VERIFY_SERVICE_SID is set, else our own
    codes by SMTP, or into the dev mailbox in the demo; with none of these, codes cannot be sent."""
    verify = None
    mailer: Mailer | None = None
    if settings.twilio_verify_service_sid:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("TWILIO_VERIFY_SERVICE_SID needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        verify = TwilioVerify(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            service_sid=settings.twilio_verify_service_sid,
            phone_channel=settings.twilio_verify_channel,
            api_base_url=settings.twilio_verify_api_base_url,
        )
    elif settings.smtp_url:
        if not settings.smtp_from:
            raise ValueError("SMTP_URL needs SMTP_FROM, the address codes are sent from")
        mailer = SmtpMailer(settings.smtp_url, settings.smtp_from)
    elif settings.uses_dev_mailbox:
        mailer = DevMailbox(pool)
    else:
        log.warning("verification_not_configured", extra={"hint": "set TWILIO_VERIFY_SERVICE_SID or SMTP_URL"})
    verifier = OneTimeCodes(pool, orders, key=key, shop_name=settings.shop_name, verify=verify, mailer=mailer)
    try:
        yield verifier
    finally:
        await verifier.aclose()


async def warm_up_models(models: Models, embedder: Embedder | None) -> None:
    """Load the offline models (from the cache dir, or trained) now rather than in a customer's
    turn; their files are read in a thread, so an event loop serving requests goes on meanwhile."""
    await models.warm_up()
    if embedder is not None and embedder.name == LOCAL_EMBEDDINGS_NAME:
        # Retrieval's local encoder loads on first use too (whatever the chat model): the first
        # turns of a burst should not wait for it.
        await embedder.model.aembed_query("hello")


@asynccontextmanager
async def open_components(settings: Settings, *, warm_up: bool = True) -> AsyncIterator[Components]:
    """Start everything a turn needs; close it all on exit. Without `warm_up` the models load
    on first use, or when `warm_up_models` is called (the API process, ready before its workers)."""
    models = build_models(settings)  # fails fast on a bad MODEL before touching the database
    embedder = build_embedder(settings)
    async with contextlib.aclosing(models), open_database(settings) as pool:  # aclosing: the chat models' clients
        settings, signing_key = await with_database_secrets(settings, pool)
        box = await secret_box(settings, pool)
        shop_settings = ShopSettingsSource(pool, box, settings)
        tenants = TenantRegistry(pool, box)
        async with open_shops(settings, pool, shop_settings) as shops:
            orders = TenantOrderSource(shops)
            async with open_verifier(settings, pool, orders, signing_key) as verifier:
                deps = GraphDeps(
                    classifier=models.classifier,
                    responder=models.responder,
                    knowledge=await open_knowledge_base(settings, pool, embedder),
                    orders=orders,
                    verifier=verifier,
                    screen=models.screen,
                    action_reader=models.action_reader,
                    shop=TenantShopActions(shops),
                )
                graph = build_graph(deps, checkpointer=TurnCheckpointer(pool))  # type: ignore[arg-type]
                if warm_up:
                    await warm_up_models(models, embedder)
                log.info("service_started", extra={"model": models.description, "embeddings": settings.embeddings})
                yield Components(
                    settings=settings,
                    signing_key=signing_key,
                    pool=pool,
                    models=models,
                    embedder=embedder,
                    deps=deps,
                    graph=graph,
                    turns=TurnRunner(graph, settings, verifier, shops=shop_settings),
                    verifier=verifier,
                    tenants=tenants,
                    shops=shops,
                    shop_settings=shop_settings,
                    quotas=Quotas(tenants),
                )


def handoff_webhook(settings: Settings) -> HandoffWebhook | None:
    """`HANDOFF_WEBHOOK_URL`, with links to the operator app."""
    if not settings.handoff_webhook_url:
        return None
    base = (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return HandoffWebhook(url=settings.handoff_webhook_url, admin_url=f"{base}/admin")


@dataclass(frozen=True, slots=True)
class Delivery:
    """The job queue with what it runs, and the operators' desk, which wakes conversations through it."""

    jobs: JobQueue
    desk: Desk
    channels: Channels


def build_desk(components: Components, channels: Channels, jobs: JobQueue) -> Desk:
    settings, pool = components.settings, components.pool
    conversations = ConversationStatus(pool, jobs)
    shop = components.deps.shop
    assert shop is not None  # open_components gives the graph the shop's actions; the desk shares them
    views = ConversationViews(
        pool=pool,
        orders=components.deps.orders,
        verifier=components.verifier,
        channels=channels,
        templates=settings.whatsapp_templates,
        shop=shop,
    )
    return Desk(
        views=views,
        conversations=conversations,
        replies=Replies(pool, channels=channels, templates=settings.whatsapp_templates, jobs=jobs),
        timers=HandoverTimers(
            pool=pool,
            channels=channels,
            conversations=conversations,
            jobs=jobs,
            wait=timedelta(minutes=settings.handoff_wait_minutes),
            idle=timedelta(hours=settings.handoff_idle_hours),
            support_hours=settings.support_hours,
            shop_name=settings.shop_name,
        ),
        actions=OrderActions(pool=pool, shop=shop, views=views),
    )


@asynccontextmanager
async def open_delivery(
    components: Components,
    *,
    on_answered: Callable[[int, Outcome], None] = lambda inbox_id, outcome: None,
    acks: AckFirst | None = None,
) -> AsyncIterator[Delivery]:
    """The job queue over the composed app, with the channels' senders, and the desk; closed on
    exit. With `acks` (a process that also serves webhooks), its turns let acknowledgements go first."""
    settings, pool = components.settings, components.pool
    channels = build_channels(settings, components.tenants)
    answering = PendingTurns(
        pool,
        components.turns,
        triggers=trigger_words(settings.bot_trigger_words),
        controls=SenderControls(pool, per_minute=settings.rate_limit_per_minute, channels=channels),
        on_answered=on_answered,
        webhook=handoff_webhook(settings),
        channels=channels,
    )
    outbox = Outbox(
        pool,
        channels,
        max_age=timedelta(hours=settings.send_max_age_hours),
        backoff=settings.send_backoff,
        backoff_max=settings.send_backoff_max,
    )
    jobs = JobQueue(pool, answering, outbox, settings, acks=acks)
    desk = build_desk(components, channels, jobs)
    jobs.timers = desk.timers.run
    try:
        async with jobs.app.open_async():
            yield Delivery(jobs=jobs, desk=desk, channels=channels)
    finally:
        await outbox.aclose()


def embedded_workers(components: Components, jobs: JobQueue) -> EmbeddedWorkers:
    """`carebot serve`'s workers, which warm the models up before taking jobs."""
    return EmbeddedWorkers(
        lambda: warm_up_models(components.models, components.embedder),
        jobs,
        concurrency=components.settings.worker_concurrency,
    )
