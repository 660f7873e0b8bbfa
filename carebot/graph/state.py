"""The care graph's state: what a conversation remembers between turns, and what one turn computes.

Values are plain JSON-shaped data (dicts, lists, strings) so checkpoints stay portable and
readable in LangGraph Studio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, TypedDict, cast

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages

from carebot.domain import EscalationReason, Intent, Language
from carebot.graph.action_flow import PendingAction
from carebot.shop.records import ActionKind


class RetrievedDocument(TypedDict):
    """A help-centre passage the answer may use (a `tools.knowledge.Passage` as data)."""

    title: str
    source: str
    heading: str
    text: str
    language: str
    score: float
    semantic: float | None
    lexical: float | None


class GuardrailVerdict(TypedDict):
    passed: bool
    issues: list[str]


class Escalation(TypedDict):
    reason: EscalationReason
    status: Literal["pending_human"]
    detail: NotRequired[str]
    """What went wrong, for the colleague taking over (e.g. "order API timed out"); never shown to the customer."""


class ActionOutcome(TypedDict):
    """What a turn did about an action: `asking` (a detail it needs), `proposed` (the exact change,
    waiting for the customer's yes), `done`, `declined` (the customer did not say yes), `refused`
    (the policy or the order does not allow it; `code` says why), `rejected` (the shop's own API refused)."""

    kind: str
    state: Literal["asking", "proposed", "done", "declined", "refused", "rejected"]
    order_number: str | None
    code: NotRequired[str]


class Verification(TypedDict):
    """A verification the bot asked for, still open: the customer is to name their account (email
    or phone on file) and send back the one-time code it gets. Tries are counted by the verifier,
    across threads, not here."""

    order_number: str | None
    """The order the customer asked about before being asked to verify, answered once verified."""


@dataclass(kw_only=True)
class InputState:
    """What a caller sends: the new customer message(s). Studio's input form shows this."""

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The conversation, oldest first; nodes append replies and drop the oldest beyond the
    context's `history_limit`, so a thread's state stays bounded however long it runs."""


class Turn(TypedDict):
    """What one turn computes. `classify` starts every turn with a fresh one (`new_turn`), so
    nothing a turn found can leak into the next; the other nodes update it key by key."""

    intent_confidence: float
    sentiment: float
    """-1 (furious) to 1 (delighted), for the latest message."""
    order_number: str | None
    """An order number the customer wrote in the latest message, normalised."""
    contact: str | None
    """An email address or phone number the customer wrote while asked to verify: where to look
    for their account (the code goes to the contact on file, never to this one as such)."""
    code: str | None
    """A 6-digit one-time code the customer wrote while asked to verify."""
    documents: list[RetrievedDocument]
    """Help-centre passages retrieved for this turn, best first."""
    order: dict[str, Any] | None
    """The order tool's result for this turn (a `domain.OrderLookup` as data)."""
    draft: str
    """The generated answer, before the guardrail check publishes it."""
    guardrail: GuardrailVerdict | None
    escalation: Escalation | None
    """Set when this turn was handed to a human, with the reason."""
    missed_before: bool
    """The previous turn found nothing relevant and offered a person: a second miss hands over."""
    unsure: bool
    """Nothing relevant found, for the first time in a row: ask to rephrase (and offer a person)."""
    unsure_reading: bool
    """The classifier could tell neither a shop topic nor that the message is about something else:
    the help centre is searched, and answers when a passage is clearly relevant; otherwise the bot
    asks which topic is meant, with `topics` as choices, rather than guess or decline."""
    topics: list[Intent]
    """The likeliest shop topics of an unsure reading, best first: the choices if the bot asks. Of an
    off-topic reading: the topic it is answered under if a passage answers it plainly (none: not searched)."""
    off_topic: float | None
    """The classifier's evidence that the message is about something other than the shop (None: not given)."""
    elsewhere: bool
    """An unsure reading of a message that names the shop's things but reads as about something else:
    asked which topic without searching the help centre first."""
    action: ActionOutcome | None
    """What this turn did about an action on an order (asked for a detail, proposed it, did it, …)."""
    requested_action: ActionKind | None
    """The action the latest message asks for ("cancel my order" → cancel), read by rules; None: none."""
    action_args: dict[str, Any] | None
    """What a chat model's tool call said of the requested action (order number, reason, address, option)."""
    catalogue_question: bool
    """The message asks which variants of a product are in stock or what they cost: the catalogue answers."""
    needs_identity: bool
    """An action was asked for by someone not yet verified: the turn asks them to verify first."""


def new_turn(**values: Any) -> Turn:
    """A turn with nothing found yet, but for `values`."""
    turn: Turn = {
        "intent_confidence": 0.0,
        "sentiment": 0.0,
        "order_number": None,
        "contact": None,
        "code": None,
        "documents": [],
        "order": None,
        "draft": "",
        "guardrail": None,
        "escalation": None,
        "missed_before": False,
        "unsure": False,
        "unsure_reading": False,
        "topics": [],
        "off_topic": None,
        "elsewhere": False,
        "action": None,
        "requested_action": None,
        "action_args": None,
        "catalogue_question": False,
        "needs_identity": False,
    }
    return cast(Turn, {**turn, **values})


def update_turn(current: Turn, update: Mapping[str, Any]) -> Turn:
    """Reducer: a node's partial update of the current turn (a new turn arrives as `Overwrite`)."""
    return cast(Turn, {**current, **update})


@dataclass(kw_only=True)
class State(InputState):
    """What a conversation remembers across turns, and the current turn's scratch in `turn`."""

    intent: Intent | None = None
    """The latest message's intent (DESIGN.md lists them); a short follow-up keeps the previous one."""
    language: Language = "en"
    """The customer's language; carried over from earlier turns when a message is too short to tell."""
    verification: Verification | None = None
    """Set while the bot waits for the customer to verify (contact, then code); kept across turns.
    A successful verification is a link kept by the verifier per sender, with an expiry."""
    offered_human: bool = False
    """The last reply asked the customer to rephrase and offered a person: "yes" takes the offer."""
    topic_choices: list[Intent] = field(default_factory=list)
    """The topics the last reply offered as a numbered list (a person last); a number picks one."""
    action: PendingAction | None = None
    """An action on an order being gathered, or proposed and waiting for the customer's yes; kept
    across turns until it is done, declined, refused or dropped."""
    turn: Annotated[Turn, update_turn] = field(default_factory=new_turn)
    """What the latest turn computed (passages, order result, draft, guardrail verdict, hand-over)."""
