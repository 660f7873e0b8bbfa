"""Retries with exponential backoff (tenacity), as every outbound call of the app makes them."""

from __future__ import annotations

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential


def with_backoff(*, attempts: int, backoff: float, retry_on: type[BaseException]) -> AsyncRetrying:
    """Up to `attempts` tries, waiting `backoff`, 2×`backoff`, 4×`backoff`… between them, while
    the call raises `retry_on`; the last error is re-raised as it was."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff),
        retry=retry_if_exception_type(retry_on),
        reraise=True,
    )
