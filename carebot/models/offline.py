"""The offline model: runs anywhere, with no key and no network.

Classifies with the learned text models and the sentiment lexicon; answers by composing the
retrieved help-centre passages and the order tool's result into the customer's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar, cast

from langchain_core.messages import BaseMessage, HumanMessage

from carebot.domain import Intent, Language, Passage, parse_order_number
from carebot.models.scope import OUT_OF_SCOPE
from carebot.models.sentiment import sentiment_score
from carebot.models.text_models import TextModels, default_text_models, says_no_language
from carebot.models.two_questions import first_question, other_question_intent, question_parts
from carebot.models.types import AnswerRequest, Classification
from carebot.phrases import format_order_lookup, phrase


class OfflineClassifier:
    """Intent and language from the learned text models; sentiment from the lexicon."""

    def __init__(self, models: TextModels | None = None, *, cache_dir: Path | None = None) -> None:
        self._models = models
        self._cache_dir = cache_dir
        self._loaded = False

    def classify_now(self, text: str, *, previous: str = "") -> Classification:
        models = self._models or default_text_models(self._cache_dir)
        reading = models.intent.predict(text)
        sentiment = sentiment_score(text)
        intent, confidence, unsure = reading.label, reading.confidence, reading.unsure
        if (intent == OUT_OF_SCOPE or unsure) and previous and len(text.split()) <= _FOLLOW_UP_WORDS:
            # "and to Bali?" is far from every example on its own, not after "do you ship to Java?":
            # read it with the previous message, unsure, so the conversation's topic carries on.
            follow_up = models.intent.predict(f"{previous} {text}")
            if follow_up.label != OUT_OF_SCOPE and not follow_up.unsure:
                intent, confidence = follow_up.label, min(follow_up.confidence, _FOLLOW_UP_CONFIDENCE)
                unsure = False
        first = first_question(text, intent, models.intent)
        if first is not None:
            # Two questions in one message: answer the first one asked (the answer names the other).
            intent, confidence, unsure = first.label, first.confidence, False
        if (intent == OUT_OF_SCOPE or unsure) and sentiment <= _ANGRY:
            # Anger at the shop is a complaint however it is worded.
            confidence = 1 - confidence if intent == OUT_OF_SCOPE else confidence
            intent, unsure = "complaint", False
        language = models.language.predict(text)
        language_confidence = language.confidence
        if says_no_language(text):
            # No reason to switch a conversation's language, however sure the identifier is.
            language_confidence = min(language_confidence, _SHARED_WORDS_CONFIDENCE)
        return Classification(
            intent=cast(Intent, intent),
            language=cast(Language, language.label),
            sentiment=sentiment,
            confidence=round(confidence, 3),
            language_confidence=round(language_confidence, 3),
            order_number=parse_order_number(text),
            off_topic=round(reading.off_topic, 3),
            unsure=unsure,
            topics=cast(tuple[Intent, ...], reading.topics if unsure or intent == OUT_OF_SCOPE else ()),
            elsewhere=unsure and reading.elsewhere,
        )

    async def classify(self, text: str, *, history: Sequence[BaseMessage] = ()) -> Classification:
        previous = next((m.text for m in reversed(history) if isinstance(m, HumanMessage)), "")
        if self._loaded:
            # Milliseconds of CPU: a thread would not run it sooner (the GIL), only add a hand-over
            # each way; turns run on the workers' own loop, not the API's.
            return self.classify_now(text, previous=previous)
        # The first call loads the models from disk (or trains them: some 25 s on a new 2-core
        # machine): off the event loop, in a thread a stopping process does not wait for.
        reading = await in_daemon_thread(lambda: self.classify_now(text, previous=previous))
        self._loaded = True
        return reading


_Result = TypeVar("_Result")


async def in_daemon_thread(work: Callable[[], _Result]) -> _Result:
    """`work()` in a daemon thread of its own. `asyncio.to_thread`'s pool is joined when the loop
    closes: Ctrl-C or SIGTERM during a first start's training would wait for it to finish. A model
    file being written when the process ends is not left half-written (`cache_files.write_aside`)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_Result] = loop.create_future()

    def run() -> None:
        try:
            outcome: tuple[_Result | None, BaseException | None] = (work(), None)
        except BaseException as error:  # handed to the awaiting task, which raises it
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(_settle, done, *outcome)

    threading.Thread(target=run, name="carebot-models", daemon=True).start()
    return await done


def _settle(future: asyncio.Future[_Result], result: _Result | None, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(cast(_Result, result))


# Follow-ups are short ("and express?", "kalau dana bisa?"); a longer message stands on its own.
_FOLLOW_UP_WORDS = 6
# "is coffee bad for you" is mildly negative and off-topic; "your service is useless" is a complaint.
_ANGRY = -0.5
# Below the graph's follow-up threshold, so a follow-up keeps the conversation's intent.
_FOLLOW_UP_CONFIDENCE = 0.45


# Order lookups that ask the customer to verify before any order is shown.
_ASKS_TO_VERIFY = frozenset({"unknown_customer", "not_found"})

_WORD = re.compile(r"\w+", re.UNICODE)
# Below the 0.85 the graph needs before a message of a few words switches a conversation's language.
_SHARED_WORDS_CONFIDENCE = 0.5
# Sentences end at . ! ? or a line break; bullet lines stay whole.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_THANKS = re.compile(r"\b(thank|thanks|thx|makasih|terima kasih|gracias)\b", re.IGNORECASE)


# Words that say nothing about which sentence answers ("can I pay with…" should find "Klarna").
_FUNCTION_WORDS = frozenset(
    "the and for with can you your our are how what when where which does did have has will from this that "
    "there not any all into about also would could should please "
    "yang dan untuk dengan bisa saya anda kami apa bagaimana gimana kapan berapa ada ini itu dari pada mau "
    "los las del con por para que cómo como qué cuándo dónde puedo puede una uno mis tus sus hay".split()
)


# Two passages whose places in the search's ranking are this close are equally likely to answer:
# "please close my account" finds "How do I create an account?" a hair above "Can I delete my
# account?". The reply carries both rather than bet on one. Chosen on the FAQ dev set
# (evals/faq/silicon-stack/dev.jsonl): of its 54 questions, 5 had the right passage second within
# 0.10 and 4 had it first with the runner-up that close.
NEAR_TIE = 0.10
# A passage this short is one answer, said whole: a FAQ's answer (the public FAQ's run 26–39 words)
# lists its steps or its five order statuses in short sentences, and three of them leave out the
# one asked about. Longer sections (the demo's run 44–104 words) cover several questions, and
# the sentences that match the question are picked from them.
WHOLE_PASSAGE_WORDS = 40


def _stems(text: str) -> set[str]:
    # A five-letter prefix is a crude stem, but it works across all three languages
    # ("refunds"/"refund", "pengiriman"/"pengirimannya", "devolución"/"devoluciones").
    return {w[:5] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _FUNCTION_WORDS}


def relevant_sentences(question: str, passage: Passage, *, limit: int = 3) -> list[str]:
    """The passage's sentences that best answer the question, in their original order; all of a
    short passage's (`WHOLE_PASSAGE_WORDS`)."""
    sentences = [s.strip(" -*•\t") for s in _SENTENCE_BREAK.split(passage.text) if s.strip(" -*•\t")]
    if len(sentences) <= limit or len(_WORD.findall(passage.text)) <= WHOLE_PASSAGE_WORDS:
        return sentences
    wanted = _stems(question)
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(wanted & _stems(sentences[i])), i))
    chosen = sorted(ranked[:limit])
    return [sentences[i] for i in chosen]


def format_passages(question: str, passages: Sequence[Passage], language: str) -> str:
    """The best passage's most relevant sentences, naming the document they come from; and the
    runner-up's, when the search cannot tell the two apart (`NEAR_TIE`)."""
    best, second = passages[0], passages[1] if len(passages) > 1 else None
    tied = second is not None and second.text != best.text and best.rank - second.rank < NEAR_TIE
    if tied and second is not None and second.language != best.language:
        # Most likely one article in two languages: the customer's, once.
        best, tied = (second if second.language == language else best), False
    sentences = relevant_sentences(question, best)
    if not tied or second is None:
        return _cited(sentences, best, language)
    also = relevant_sentences(question, second, limit=2)
    if second.title == best.title:  # two sections of one article: one source line
        return _cited(sentences + also, best, language)
    return f"{_cited(sentences, best, language)}\n\n{_cited(also, second, language)}"


def _cited(sentences: list[str], passage: Passage, language: str) -> str:
    return "\n".join(sentences) + f"\n\n{phrase(language, 'source')}: {passage.title}"


class OfflineResponder:
    """Composes answers from the tool results and passages with per-language phrases; a second
    question about something else is named at the end, for the customer to ask on its own."""

    def __init__(self, models: TextModels | None = None, *, cache_dir: Path | None = None) -> None:
        self._models = models
        self._cache_dir = cache_dir

    def _also_asked(self, request: AnswerRequest) -> str | None:
        if len(question_parts(request.question)) < 2:
            return None  # one question: no model to run
        models = self._models or default_text_models(self._cache_dir)
        other = other_question_intent(request.question, request.intent, models.intent)
        return (
            None
            if other is None
            else phrase(request.language, "also_asked", topic=phrase(request.language, f"topic_{other}"))
        )

    async def respond(self, request: AnswerRequest) -> str:
        answer = self._answer(request)
        # Milliseconds of CPU when the message has several parts, and the classifier has loaded
        # the models already: no thread (see OfflineClassifier.classify).
        also_asked = self._also_asked(request)
        return f"{answer}\n\n{also_asked}" if also_asked else answer

    def _answer(self, request: AnswerRequest) -> str:
        language, intent = request.language, request.intent
        if intent == "greeting":
            key = "thanks" if _THANKS.search(request.question) else "greeting"
            name = f" {request.customer_name.split()[0]}" if request.customer_name else ""
            return phrase(language, key, name=name, shop=request.shop_name)
        facts: list[str] = []
        if request.passages:
            if intent == "order_change":
                facts.append(phrase(language, "change_lead"))
            elif intent != "complaint" and (request.order is None or request.order.kind in _ASKS_TO_VERIFY):
                facts.append(phrase(language, "kb_lead"))
            facts.append(format_passages(request.question, request.passages, language))
        if request.order is not None:
            # The help centre's answer first when the order must wait for verification (what to do
            # about a damaged parcel), then the request to verify; an order's facts come first.
            lookup = format_order_lookup(request.order, language)
            facts.insert(len(facts) if request.order.kind in _ASKS_TO_VERIFY else 0, lookup)
        opening = [phrase(language, "complaint")] if intent == "complaint" else []
        if intent == "human_agent" and request.passages:
            facts.append(phrase(language, "contact_offer_human"))  # asked how to reach us: a person, if they like
        return "\n\n".join(opening + (facts or [phrase(language, "no_answer")]))
