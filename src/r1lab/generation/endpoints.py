"""Routing requests over several servers, and telling a flaky server from a dead one.

A failed request is retried on its own schedule (see ``Router.retry_delay``); the endpoint it
failed on is *not* taken out of the window for it. An earlier rule paused an endpoint after three
failures in a row, and with one server that stalled the whole run: at 20% random faults the
server was paused most of the time although four requests in five succeeded. Now an endpoint is
paused only on evidence that it is down:

- a connection was refused (nothing listens: the server crashed or is restarting), or
- the last ``DOWN_AFTER_FAILURES`` requests to it all failed.

A paused endpoint is retried with one probe request when its pause ends (a circuit breaker's
half-open state): a success reopens it, a failure pauses it again for twice as long (jittered,
up to ``backoff_max``).

Each request goes to the endpoint with the lowest ``(in_flight + 1) / health**2``, where
``health`` is the recent success rate. With equally healthy servers that is "fewest in flight",
which balances servers of different speeds without tuning; a server whose requests fail fast would
look idle to that rule and attract more load, so the health term shifts load away from it long
before it is paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

#: Failures in a row, with no success between, that mark an endpoint as down. At 20% random faults
#: six in a row happen about once in 16,000 requests, and then cost one short pause and a probe.
DOWN_AFTER_FAILURES = 6
#: Weight of the newest outcome in an endpoint's health (an exponential moving average).
HEALTH_ALPHA = 0.1
#: Lowest health used for routing, so a failing endpoint is still tried now and then.
HEALTH_FLOOR = 0.05


@dataclass
class Endpoint:
    """One server: its base URL and what the router knows about it."""

    base_url: str
    in_flight: int = 0
    consecutive_failures: int = 0
    paused_until: float = 0.0
    #: Pauses since the last success; sets the next pause's length.
    pauses: int = 0
    #: A pause ended and one probe request is out: no other request goes here until it returns.
    probing: bool = False
    #: Recent success rate (1.0 = every recent request succeeded).
    health: float = 1.0
    requests: int = 0
    failures: int = 0

    @property
    def root_url(self) -> str:
        """The server root (``/v1`` stripped), where ``/health`` and ``/metrics`` live."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url

    def score(self) -> float:
        return (self.in_flight + 1) / max(HEALTH_FLOOR, self.health) ** 2


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
    """Picks the endpoint for each request and keeps each endpoint's health record."""

    def __init__(self, base_urls: list[str], backoff_base: float = 1.0, backoff_max: float = 60.0):
        self.endpoints = [Endpoint(url.rstrip("/")) for url in base_urls]
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._changed = asyncio.Event()

    def _available(self, now: float) -> list[Endpoint]:
        return [e for e in self.endpoints if e.paused_until <= now and not e.probing]

    async def acquire(self) -> Endpoint:
        """The healthiest, least-busy endpoint that is not paused; waits while every one is paused."""
        while True:
            now = time.monotonic()
            candidates = self._available(now)
            if candidates:
                best = min(candidates, key=Endpoint.score)
                if best.pauses:  # its pause just ended: this request is the probe
                    best.probing = True
                best.in_flight += 1
                best.requests += 1
                return best
            pending = [e.paused_until - now for e in self.endpoints if e.paused_until > now]
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(pending) if pending else None)

    def release(self, endpoint: Endpoint, ok: bool, down: bool = False) -> None:
        """Return an endpoint after a request; ``down`` marks a refused connection."""
        endpoint.in_flight -= 1
        endpoint.health += HEALTH_ALPHA * ((1.0 if ok else 0.0) - endpoint.health)
        was_probe, endpoint.probing = endpoint.probing, False
        self._changed.set()
        if ok:
            endpoint.consecutive_failures = 0
            endpoint.pauses = 0
            return
        endpoint.failures += 1
        endpoint.consecutive_failures += 1
        now = time.monotonic()
        if endpoint.paused_until > now:
            return  # a request sent before the pause: already counted
        if down or was_probe or endpoint.consecutive_failures >= DOWN_AFTER_FAILURES:
            pause = min(self.backoff_max, self.backoff_base * 2**endpoint.pauses) * random.uniform(0.5, 1.0)
            if pause > 0:  # --backoff-base 0: never pause
                endpoint.pauses += 1
                endpoint.paused_until = now + pause

    def release_neutral(self, endpoint: Endpoint) -> None:
        """Return an endpoint without judging it (the request was cancelled or the client's fault)."""
        endpoint.in_flight -= 1
        endpoint.probing = False
        self._changed.set()

    def retry_delay(self, endpoint: Endpoint, attempt: int, retry_after: float | None = None) -> float:
        """How long a request that failed on ``endpoint`` waits before its next attempt.

        Full-jitter exponential backoff on the request's own attempt count, scaled by the share of
        recent requests that failed there: backoff protects an overloaded or broken server, and one
        where most requests succeed is neither, so an isolated failure is retried within a fraction
        of ``backoff_base``. A server's ``Retry-After`` is always honoured.
        """
        failing = max(0.1, 1.0 - endpoint.health)
        return backoff_delay(attempt, self.backoff_base * failing, self.backoff_max, retry_after)
