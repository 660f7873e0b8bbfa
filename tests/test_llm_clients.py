"""The LLM path through the real ChatOpenAI and ChatBedrockConverse clients, against local
servers that speak the OpenAI chat-completions and Bedrock Converse protocols."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from carebot.graph import Context, GraphDeps, build_graph
from carebot.models.factory import build_models
from carebot.settings import Settings
from tests.fakes import FakeKnowledgeBase, FakeOrderSource, FakeVerifier, passage
from tests.loopback import LoopbackServer, Recorded

CLASSIFICATION = {"intent": "shipping", "language": "id", "sentiment": 0.1, "confidence": 0.93, "order_number": None}
ANSWER = "Pengiriman reguler 3 sampai 5 hari kerja.\n\nSumber: Shipping"


def openai_reply(request: Recorded) -> tuple[int, Any]:
    body = request.json()
    content = json.dumps(CLASSIFICATION) if "response_format" in body else ANSWER
    return 200, {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def bedrock_reply(request: Recorded) -> tuple[int, Any]:
    body = request.json()
    if body.get("toolConfig"):
        tool = body["toolConfig"]["tools"][0]["toolSpec"]["name"]
        content = [{"toolUse": {"toolUseId": "tool-1", "name": tool, "input": CLASSIFICATION}}]
        stop = "tool_use"
    else:
        content, stop = [{"text": ANSWER}], "end_turn"
    return 200, {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 1},
    }


async def run_turn(settings: Settings) -> dict[str, Any]:
    models = build_models(settings)
    orders = FakeOrderSource()
    deps = GraphDeps(
        classifier=models.classifier,
        responder=models.responder,
        knowledge=FakeKnowledgeBase(passages=[passage()]),
        orders=orders,
        verifier=FakeVerifier(orders),
    )
    graph = build_graph(deps, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "llm"}}
    try:
        await graph.ainvoke(
            {"messages": [{"role": "user", "content": "berapa lama pengiriman?"}]}, config, context=Context()
        )
    finally:
        await models.aclose()
    values: dict[str, Any] = (await graph.aget_state(config)).values
    return values


async def test_openai_structured_classify_and_generate() -> None:
    with LoopbackServer(openai_reply) as fake:
        settings = Settings(
            _env_file=None, model="openai:gpt-test", openai_api_key="sk-test", openai_base_url=f"{fake.url}/v1"
        )
        state = await run_turn(settings)
    classify_call, generate_call = (r.json() for r in fake.requests)
    assert classify_call["response_format"]["type"] == "json_schema"
    assert set(classify_call["response_format"]["json_schema"]["schema"]["properties"]) >= {"intent", "language"}
    assert "Bahasa Indonesia" in generate_call["messages"][0]["content"]
    assert "Standard delivery takes 3 to 5 working days." in generate_call["messages"][0]["content"]
    assert (state["intent"], state["language"]) == ("shipping", "id")
    assert state["messages"][-1].content == ANSWER


async def test_bedrock_converse_structured_classify_and_generate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with LoopbackServer(bedrock_reply) as fake:
        settings = Settings(
            _env_file=None, model="bedrock:anthropic.claude-test", aws_region="us-east-1", bedrock_endpoint_url=fake.url
        )
        state = await run_turn(settings)
    assert [r.path for r in fake.requests] == ["/model/anthropic.claude-test/converse"] * 2
    assert fake.requests[0].json()["toolConfig"]["tools"][0]["toolSpec"]["name"] == "ClassificationOutput"
    assert "authorization" in {k.lower() for k in fake.requests[0].headers}  # signed with SigV4
    assert (state["intent"], state["language"]) == ("shipping", "id")
    assert state["messages"][-1].content == ANSWER
