"""Choose the models from settings: `offline`, `bedrock:<model id>` or `openai:<model>`."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from carebot.models.llm import ChatClassifier, ChatResponder
from carebot.models.offline import OfflineClassifier, OfflineResponder
from carebot.models.sentence_encoder import LOCAL_EMBEDDINGS_NAME, LocalEmbeddings, local_sentence_encoder
from carebot.models.types import Classifier, Responder
from carebot.settings import Settings
from carebot.tools.knowledge import Embedder, SimilarityScale


class ModelConfigError(ValueError):
    """A MODEL / CLASSIFIER_MODEL value that cannot be used, with what to do about it."""


@dataclass(frozen=True, slots=True)
class Models:
    """The classifier and responder the graph is built with."""

    classifier: Classifier
    responder: Responder
    description: str
    """E.g. "offline" or "openai:gpt-4o-mini (classifier: offline)", for logs and /health."""

    async def warm_up(self) -> None:
        """Load the sentence encoder and train the offline text models now rather than during
        the first customer's turn."""
        if isinstance(self.classifier, OfflineClassifier):
            await self.classifier.classify("hello")


def build_chat_model(spec: str, settings: Settings) -> BaseChatModel:
    """A LangChain chat model for `bedrock:<id>` or `openai:<model>`."""
    provider, _, model_id = spec.partition(":")
    if not model_id:
        raise ModelConfigError(f"MODEL={spec!r}: expected offline, bedrock:<model id> or openai:<model>")
    if provider == "bedrock":
        from langchain_aws import ChatBedrockConverse

        if not settings.aws_region:
            raise ModelConfigError("MODEL=bedrock:… needs AWS_REGION (and AWS credentials in the usual places)")
        return ChatBedrockConverse(
            model_id=model_id,
            region_name=settings.aws_region,
            endpoint_url=settings.bedrock_endpoint_url,
            temperature=0,
        )
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        if settings.openai_api_key is None:
            raise ModelConfigError("MODEL=openai:… needs OPENAI_API_KEY")
        return ChatOpenAI(
            model=model_id,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            temperature=0,
            timeout=30,
            max_retries=2,
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
            LocalEmbeddings(local_sentence_encoder()),
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


def build_models(settings: Settings) -> Models:
    """The classifier and responder for these settings; the offline model unless configured."""
    responder: Responder
    if settings.model == "offline":
        responder = OfflineResponder()
    else:
        responder = ChatResponder(build_chat_model(settings.model, settings))
    classifier_spec = settings.classifier_model or settings.model
    classifier: Classifier
    if classifier_spec == "offline":
        classifier = OfflineClassifier(cache_dir=settings.data_dir / "cache")
    else:
        classifier = ChatClassifier(build_chat_model(classifier_spec, settings), shop_name=settings.shop_name)
    description = settings.model
    if classifier_spec != settings.model:
        description += f" (classifier: {classifier_spec})"
    return Models(classifier=classifier, responder=responder, description=description)
