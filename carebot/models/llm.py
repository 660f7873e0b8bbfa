"""Classify and answer with a chat model (Bedrock, OpenAI or anything LangChain speaks)."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from carebot.domain import INTENTS, Intent, Language, parse_order_number
from carebot.models.sentiment import sentiment_score
from carebot.models.types import AnswerRequest, Classification, GuardrailIntervened
from carebot.phrases import LANGUAGE_NAMES, format_order_lookup
from carebot.prompts import render_prompt

# Earlier turns help with follow-ups ("and to Bali?") without paying for the whole thread.
_CONTEXT_MESSAGES = 6


class ClassificationOutput(BaseModel):
    """The classify step's structured output."""

    intent: Intent = Field(description="What the customer wants.")
    language: Language = Field(description="Language of the latest message: en, id or es.")
    sentiment: float = Field(ge=-1, le=1, description="-1 furious, 0 neutral, 1 delighted.")
    confidence: float = Field(ge=0, le=1, description="Confidence in the intent.")
    order_number: str | None = Field(default=None, description="An order number the customer wrote, if any.")


class ChatClassifier:
    """Structured-output classification with a chat model."""

    def __init__(self, model: BaseChatModel, *, shop_name: str) -> None:
        self._structured = model.with_structured_output(ClassificationOutput)
        self._system = render_prompt("classify", shop_name=shop_name, intents=", ".join(INTENTS))

    async def classify(self, text: str, *, history: Sequence[BaseMessage] = ()) -> Classification:
        context = list(history)[-_CONTEXT_MESSAGES:]
        result = await self._structured.ainvoke([SystemMessage(self._system), *context, HumanMessage(text)])
        output = ClassificationOutput.model_validate(result)
        return Classification(
            intent=output.intent,
            language=output.language,
            # The lexicon keeps escalation on anger consistent across models; the model's
            # reading wins where it is the stronger of the two.
            sentiment=min(output.sentiment, sentiment_score(text)),
            confidence=output.confidence,
            # Only the customer's own words count as an order number, normalised like theirs.
            order_number=parse_order_number(output.order_number or "") or parse_order_number(text),
        )


def _passages_text(request: AnswerRequest) -> str:
    if not request.passages:
        return "(none)"
    return "\n\n".join(f"[{p.title}] {p.heading}\n{p.text}".strip() for p in request.passages)


class ChatResponder:
    """Answers written by a chat model from the order facts and help-centre passages."""

    def __init__(self, model: BaseChatModel) -> None:
        self._model = model

    async def respond(self, request: AnswerRequest) -> str:
        system = render_prompt(
            "generate",
            shop_name=request.shop_name,
            language_name=LANGUAGE_NAMES.get(request.language, "English"),
            intent=request.intent,
            customer_name=request.customer_name or "(unknown)",
            order_facts=format_order_lookup(request.order, request.language) if request.order else "(none)",
            passages=_passages_text(request),
        )
        history = list(request.history)[-_CONTEXT_MESSAGES:]
        reply = await self._model.ainvoke([SystemMessage(system), *history])
        if reply.response_metadata.get("stopReason") == "guardrail_intervened":
            # Bedrock replaced the answer with the guardrail's canned message: one language,
            # no answer to the question. Better a colleague than that.
            raise GuardrailIntervened("Bedrock Guardrail intervened in the model call")
        return reply.text.strip()
