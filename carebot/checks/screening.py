"""Screening a customer message before any model reads it: Amazon Bedrock Guardrails' standalone
ApplyGuardrail API, whatever model answers (the offline one included).

langchain-aws has no wrapper for ApplyGuardrail, so this calls boto3's `bedrock-runtime` client
(already installed with langchain-aws) in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScreenVerdict:
    """Whether a message may go on to the models, and if not, why (for the colleague)."""

    allowed: bool
    detail: str = ""


class MessageScreen(Protocol):
    async def screen(self, text: str) -> ScreenVerdict:
        """Check a customer message before it is classified or answered."""
        ...


def _blocked_policies(response: dict[str, Any]) -> list[str]:
    """What the guardrail blocked, e.g. `PROMPT_ATTACK`, `denied topic Investment advice`."""
    found: list[str] = []
    for assessment in response.get("assessments") or []:
        for item in (assessment.get("contentPolicy") or {}).get("filters") or []:
            if item.get("action") == "BLOCKED":
                found.append(str(item.get("type")))
        for item in (assessment.get("topicPolicy") or {}).get("topics") or []:
            if item.get("action") == "BLOCKED":
                found.append(f"denied topic {item.get('name')}")
        for item in (assessment.get("wordPolicy") or {}).get("customWords") or []:
            if item.get("action") == "BLOCKED":
                found.append("blocked word")
        sensitive = assessment.get("sensitiveInformationPolicy") or {}
        for item in [*(sensitive.get("piiEntities") or []), *(sensitive.get("regexes") or [])]:
            if item.get("action") == "BLOCKED":
                found.append(f"sensitive information {item.get('type') or item.get('name')}")
    return list(dict.fromkeys(found))


class GuardrailClient(Protocol):
    """The one call of boto3's `bedrock-runtime` client used here (boto3 ships no types)."""

    def apply_guardrail(self, **request: Any) -> Any: ...


class BedrockGuardrailScreen:
    """Checks each customer message with a Bedrock Guardrail (`source="INPUT"`, tagged as the
    user's own content, so prompt-attack filtering applies to it)."""

    def __init__(self, client: GuardrailClient, *, guardrail_id: str, guardrail_version: str) -> None:
        self._client = client
        self._guardrail_id = guardrail_id
        self._guardrail_version = guardrail_version

    def _apply(self, text: str) -> dict[str, Any]:
        response = self._client.apply_guardrail(
            guardrailIdentifier=self._guardrail_id,
            guardrailVersion=self._guardrail_version,
            source="INPUT",
            content=[{"text": {"text": text, "qualifiers": ["guard_content"]}}],
        )
        return dict(response)

    async def screen(self, text: str) -> ScreenVerdict:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        try:
            response = await asyncio.to_thread(self._apply, text)
        except (BotoCoreError, ClientError) as exc:
            # Fail open: the answer checks and the guardrail on the model call still apply, and a
            # Bedrock outage should not hand every conversation to a person.
            log.warning("guardrail_screen_failed", extra={"error": type(exc).__name__})
            return ScreenVerdict(allowed=True, detail=f"guardrail not reachable: {type(exc).__name__}")
        if response.get("action") != "GUARDRAIL_INTERVENED":
            return ScreenVerdict(allowed=True)
        policies = ", ".join(_blocked_policies(response)) or str(response.get("actionReason") or "no reason given")
        return ScreenVerdict(
            allowed=False,
            detail=f"Bedrock Guardrail {self._guardrail_id} v{self._guardrail_version} blocked the message: {policies}",
        )


def bedrock_guardrail_screen(
    *, guardrail_id: str, guardrail_version: str, region: str, endpoint_url: str | None = None
) -> BedrockGuardrailScreen:
    """A screen with its own `bedrock-runtime` client (credentials from the usual places)."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    # A screen that waits long delays every answer: few retries, short timeouts.
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=10)
    client: GuardrailClient = boto3.client(
        "bedrock-runtime", region_name=region, endpoint_url=endpoint_url, config=config
    )
    return BedrockGuardrailScreen(client, guardrail_id=guardrail_id, guardrail_version=guardrail_version)
