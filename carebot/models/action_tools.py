"""The actions on an order as LangChain tools a chat model can call (`MODEL=openai:…`/`bedrock:…`).

A tool call is only a reading of the customer's request: its typed arguments carry what the customer
said (the order number, the reason, the new address or option). No argument names a customer — who
is asking comes from the channel and verification — and calling a tool does nothing: the graph
gathers what is missing, checks the policy and the order's owner, and acts only after the customer's
explicit yes, whatever the model called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from carebot.models.types import ActionCall
from carebot.prompts import render_prompt

_CONTEXT_MESSAGES = 6


class NewAddress(BaseModel):
    line1: str = Field(description="Street and number.")
    line2: str | None = Field(default=None, description="Apartment, unit or floor, if given.")
    city: str
    state: str | None = Field(default=None, description="State or province, if given.")
    zip: str = Field(description="Postcode.")
    country: str


class CancelOrder(BaseModel):
    """Cancel one of the customer's orders that has not shipped yet."""

    order_number: str | None = Field(default=None, description="The order number the customer wrote, if any.")
    reason: str | None = Field(default=None, description="Why, in the customer's words, if they said.")


class ChangeShippingAddress(BaseModel):
    """Send one of the customer's orders that has not shipped yet to another address."""

    order_number: str | None = Field(default=None, description="The order number the customer wrote, if any.")
    address: NewAddress | None = Field(default=None, description="The new address, if the customer gave it whole.")


class ChangeOrderItems(BaseModel):
    """Change an item of an order that has not shipped yet to another size, colour or variant."""

    order_number: str | None = Field(default=None, description="The order number the customer wrote, if any.")
    item: str | None = Field(default=None, description="The item as the customer named it, e.g. 'the hoodie'.")
    new_option: str | None = Field(default=None, description="What it should become, e.g. 'size L', 'white'.")
    pay_with: str | None = Field(default=None, description="How to pay or receive a price difference, if said.")


class ReturnItems(BaseModel):
    """Return items of a delivered order for a refund."""

    order_number: str | None = Field(default=None, description="The order number the customer wrote, if any.")
    items: str | None = Field(default=None, description="Which items, as the customer named them ('all', 'the mug').")
    refund_to: Literal["original", "gift_card"] | None = Field(
        default=None, description="Where the refund should go, if the customer said."
    )


class ExchangeItems(BaseModel):
    """Exchange items of a delivered order for another size, colour or variant of the same product."""

    order_number: str | None = Field(default=None, description="The order number the customer wrote, if any.")
    item: str | None = Field(default=None, description="The item as the customer named it.")
    new_option: str | None = Field(default=None, description="What it should become, e.g. 'size XL'.")
    pay_with: str | None = Field(default=None, description="How to pay or receive a price difference, if said.")


ACTION_TOOLS: dict[str, tuple[type[BaseModel], str]] = {
    "CancelOrder": (CancelOrder, "cancel"),
    "ChangeShippingAddress": (ChangeShippingAddress, "change_address"),
    "ChangeOrderItems": (ChangeOrderItems, "change_items"),
    "ReturnItems": (ReturnItems, "return"),
    "ExchangeItems": (ExchangeItems, "exchange"),
}


class ChatActionReader:
    """Reads an action request with a chat model's tool calling."""

    def __init__(self, model: BaseChatModel, *, shop_name: str) -> None:
        self._model = model.bind_tools([schema for schema, _ in ACTION_TOOLS.values()])
        self._system = render_prompt("read_action", shop_name=shop_name)

    async def read(self, text: str, *, history: Sequence[BaseMessage] = ()) -> ActionCall | None:
        context = list(history)[-_CONTEXT_MESSAGES:]
        reply = await self._model.ainvoke([SystemMessage(self._system), *context, HumanMessage(text)])
        for call in getattr(reply, "tool_calls", []):
            known = ACTION_TOOLS.get(call["name"])
            if known is None:
                continue
            schema, kind = known
            # The arguments are checked against the tool's types; a malformed call reads as no request.
            try:
                args = schema.model_validate(call["args"]).model_dump(exclude_none=True)
            except ValueError:
                return None
            return ActionCall(kind=kind, args=args)
        return None
