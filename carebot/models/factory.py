"""Choose the models from settings: `offline`, `bedrock:<model id>` or `openai:<model>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from carebot.checks.screening import MessageScreen, bedrock_guardrail_screen
from carebot.models.action_tools import ChatActionReader
from carebot.models.llm import ChatClassifier, ChatResponder
from carebot.models.offline import OfflineClassifier, OfflineResponder
from carebot.models.sentence_encoder import LOCAL_EMBEDDINGS_NAME, LocalEmbeddings, local_sentence_encoder
from carebot.models.types import ActionReader, Classifier, Responder
from carebot.settings import Settings
from carebot.shop.help_centre.search import Embedder, SimilarityScale


class ModelConfigError(ValueError):
    """A MODEL / CLASSIFIER_MODEL value that cannot be used, with what to do about it."""


@dataclass(frozen=True, slots=True)
class Models:
    """The classifier and responder the graph is built with."""

    classifier: Classifier
    responder: Responder
    description: str
    """E.g. "offline" or "openai:gpt-4o-mini (classifier: offline)", for logs and /health."""
    screen: MessageScreen | None = None
    """Checks each customer message before the models read it (a Bedrock Guardrail), if configured."""
    action_reader: ActionReader | None = None
    """Reads requests to act on an order with the chat model's tool calls; None: the graph's rules read them."""
    http_clients: list[Any] = field(default_factory=list)
    """The chat models' own HTTP clients (aiohttp sessions), closed with the models."""

    async def aclose(self) -> None:
        for client in self.http_clients:
            await client.aclose()

    async def warm_up(self) -> None:
        """Load the sentence encoder and train the offline text models now rather than during
        the first customer's turn."""
        if isinstance(self.classifier, OfflineClassifier):
            await self.classifier.classify("hello")


def guardrail_settings(settings: Settings) -> tuple[str, str] | None:
    """BEDROCK_GUARDRAIL_ID and BEDROCK_GUARDRAIL_VERSION, when set (both or neither)."""
    guardrail_id, version = settings.bedrock_guardrail_id, settings.bedrock_guardrail_version
    if not guardrail_id and not version:
        return None
    if not (guardrail_id and version):
        raise ModelConfigError("BEDROCK_GUARDRAIL_ID and BEDROCK_GUARDRAIL_VERSION go together: set both")
    if not settings.aws_region:
        raise ModelConfigError("BEDROCK_GUARDRAIL_ID needs AWS_REGION (and AWS credentials in the usual places)")
    return guardrail_id, version


def build_chat_model(
    spec: str, settings: Settings, *, guarded: bool = False, http_clients: list[Any] | None = None
) -> BaseChatModel:
    """A LangChain chat model for `bedrock:<id>` or `openai:<model>`. `guarded`: a Bedrock model
    applies the configured Bedrock Guardrail to the customer's latest message and to its answer.
    `http_clients` collects the HTTP clients the caller must close (`Models.aclose`)."""
    provider, _, model_id = spec.partition(":")
    if not model_id:
        raise ModelConfigError(f"MODEL={spec!r}: expected offline, bedrock:<model id> or openai:<model>")
    if provider == "bedrock":
        from langchain_aws import ChatBedrockConverse

        if not settings.aws_region:
            raise ModelConfigError("MODEL=bedrock:… needs AWS_REGION (and AWS credentials in the usual places)")
        guardrail = guardrail_settings(settings) if guarded else None
        return ChatBedrockConverse(
            model_id=model_id,
            region_name=settings.aws_region,
            endpoint_url=settings.bedrock_endpoint_url,
            temperature=0,
            guardrail_config=(
                {"guardrailIdentifier": guardrail[0], "guardrailVersion": guardrail[1], "trace": "enabled"}
                if guardrail
                else None
            ),
            # Only the customer's latest message is wrapped as guarded content: prompt-attack
            # filtering applies to user input only, and the history was checked on its own turn.
            guard_last_turn_only=guardrail is not None,
        )
    if provider == "openai":
        from langchain_openai import ChatOpenAI
        from openai import DefaultAioHttpClient

        if settings.openai_api_key is None:
            raise ModelConfigError("MODEL=openai:… needs OPENAI_API_KEY")
        http_async_client = None
        if http_clients is not None:
            # The SDK's aiohttp transport: with a hundred calls waiting on a slow model, the
            # default transport's pool rechecked every open connection on each request (7 % of
            # the process's CPU in `make bench` P2). It must be closed, hence only for callers
            # that collect it; one-shot users (the eval judge) keep the default.
            http_async_client = DefaultAioHttpClient()
            http_clients.append(http_async_client)
        return ChatOpenAI(
            model=model_id,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            temperature=0,
            timeout=30,
            max_retries=2,
            http_async_client=http_async_client,
        )
    raise ModelConfigError(f"MODEL={spec!r}: unknown provider {provider!r} (use offline, bedrock or openai)")


def build_embedder(settings: Settings) -> Embedder | None:
    """The embedding model for `EMBEDDINGS` (`local`, `none`, `bedrock:<id>`, `openai:<id>`)."""
    spec = settings.embeddings
    if spec == "none":
        return None
    if spec == "local":
        # Measured on the demo help centre: questions score 0.17-0.50 cosine against the passage that
        # answers them (median 0.35), off-topic requests 0.05-0.21 against their closest passage;
        # below 0.18 a match is noise ("berapa ongkir" found the express-upgrade passage first).
        return Embedder(
            LOCAL_EMBEDDINGS_NAME,
            LocalEmbeddings(local_sentence_encoder(settings.cache_dir)),
            SimilarityScale(floor=0.18, ceiling=0.5),
        )
    provider, _, model_id = spec.partition(":")
    if provider == "bedrock" and model_id:
        from langchain_aws import BedrockEmbeddings

        if not settings.aws_region:
            raise ModelConfigError("EMBEDDINGS=bedrock:… needs AWS_REGION (and AWS credentials in the usual places)")
        return Embedder(
            spec,
            BedrockEmbeddings(
                model_id=model_id, region_name=settings.aws_region, endpoint_url=settings.bedrock_endpoint_url
            ),
        )
    if provider == "openai" and model_id:
        from langchain_openai import OpenAIEmbeddings

        if settings.openai_api_key is None:
            raise ModelConfigError("EMBEDDINGS=openai:… needs OPENAI_API_KEY")
        # No client-side token counting: it would download tiktoken's tables at first use.
        model = OpenAIEmbeddings(
            model=model_id,
            openai_api_key=settings.openai_api_key,
            openai_api_base=settings.openai_base_url,
            check_embedding_ctx_length=False,
            max_retries=2,
        )
        return Embedder(spec, model)
    raise ModelConfigError(f"EMBEDDINGS={spec!r}: expected local, none, bedrock:<model id> or openai:<model>")


def build_message_screen(settings: Settings) -> MessageScreen | None:
    """The ApplyGuardrail check of customer messages when a Bedrock Guardrail is configured."""
    guardrail = guardrail_settings(settings)
    if guardrail is None:
        return None
    assert settings.aws_region is not None  # guardrail_settings requires it
    return bedrock_guardrail_screen(
        guardrail_id=guardrail[0],
        guardrail_version=guardrail[1],
        region=settings.aws_region,
        endpoint_url=settings.bedrock_endpoint_url,
    )


def build_models(settings: Settings) -> Models:
    """The classifier, responder and message screen for these settings; the offline model unless
    configured. The guardrail guards the answering model; the classifier reads only what the
    screen (the same guardrail, on the same message) has let through."""
    http_clients: list[Any] = []
    responder: Responder
    if settings.model == "offline":
        responder = OfflineResponder(cache_dir=settings.cache_dir)
    else:
        responder = ChatResponder(build_chat_model(settings.model, settings, guarded=True, http_clients=http_clients))
    classifier_spec = settings.classifier_model or settings.model
    classifier: Classifier
    action_reader: ActionReader | None = None
    if classifier_spec == "offline":
        classifier = OfflineClassifier(cache_dir=settings.cache_dir)
    else:
        chat_model = build_chat_model(classifier_spec, settings, http_clients=http_clients)
        classifier = ChatClassifier(chat_model, shop_name=settings.shop_name)
        action_reader = ChatActionReader(chat_model, shop_name=settings.shop_name)
    description = settings.model
    if classifier_spec != settings.model:
        description += f" (classifier: {classifier_spec})"
    screen = build_message_screen(settings)
    if screen is not None:
        description += " (Bedrock Guardrail)"
    return Models(
        classifier=classifier,
        responder=responder,
        description=description,
        screen=screen,
        http_clients=http_clients,
        action_reader=action_reader,
    )
