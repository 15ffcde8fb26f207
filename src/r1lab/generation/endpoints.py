"""Routing requests over several servers, and backing off from the ones that fail.

Each request goes to the endpoint with the fewest requests in flight, which balances servers of
different speeds without any tuning: a fast server finishes sooner and so gets more. An endpoint
that fails several times in a row (refused connections, 5xx, 429) is paused with exponential
backoff, so a dead or overloaded server is not hammered while the others carry the load; a 429's
``Retry-After`` pauses it for at least that long. One success clears the record.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

#: Failures in a row before an endpoint is paused: a healthy server's odd error pauses nothing.
PAUSE_AFTER_FAILURES = 3


@dataclass
class Endpoint:
    """One server: its base URL and what the router knows about it."""

    base_url: str
    in_flight: int = 0
    consecutive_failures: int = 0
    paused_until: float = 0.0
    requests: int = 0
    failures: int = field(default=0)

    @property
    def root_url(self) -> str:
        """The server root (``/v1`` stripped), where ``/health`` lives."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter (AWS's advice), never shorter than a server's Retry-After."""
    delay = random.uniform(0, min(cap, base * (2**attempt)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Router:
    """Picks the endpoint for each request and keeps each endpoint's failure record."""

    def __init__(self, base_urls: list[str], backoff_base: float = 1.0, backoff_max: float = 60.0):
        self.endpoints = [Endpoint(url.rstrip("/")) for url in base_urls]
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max

    async def acquire(self) -> Endpoint:
        """The least-busy endpoint that is not paused; waits when every endpoint is paused."""
        while True:
            now = time.monotonic()
            best = None
            for endpoint in self.endpoints:
                if endpoint.paused_until <= now and (best is None or endpoint.in_flight < best.in_flight):
                    best = endpoint
            if best is not None:
                best.in_flight += 1
                best.requests += 1
                return best
            await asyncio.sleep(min(e.paused_until for e in self.endpoints) - now)

    def release(self, endpoint: Endpoint, ok: bool, retry_after: float | None = None) -> None:
        """Return an endpoint after a request; ``ok=False`` counts towards pausing it."""
        endpoint.in_flight -= 1
        if ok:
            endpoint.consecutive_failures = 0
            return
        endpoint.failures += 1
        endpoint.consecutive_failures += 1
        pause = None
        if endpoint.consecutive_failures >= PAUSE_AFTER_FAILURES:
            steps = endpoint.consecutive_failures - PAUSE_AFTER_FAILURES
            pause = min(self.backoff_max, self.backoff_base * 2**steps) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            pause = max(pause or 0.0, retry_after)
        if pause:
            endpoint.paused_until = max(endpoint.paused_until, time.monotonic() + pause)

    def release_neutral(self, endpoint: Endpoint) -> None:
        """Return an endpoint without judging it (the request was cancelled or the client's fault)."""
        endpoint.in_flight -= 1
