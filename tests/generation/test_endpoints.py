"""Backoff arithmetic and the router's choice of endpoint."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

from r1lab.generation.endpoints import PAUSE_AFTER_FAILURES, Router, backoff_delay, parse_retry_after


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 8 < parse_retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10


def test_backoff_is_jittered_capped_and_never_below_retry_after():
    delays = [backoff_delay(attempt, 1.0, 8.0) for attempt in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays) and len(set(delays)) > 100
    assert all(backoff_delay(0, 1.0, 8.0, retry_after=5) >= 5 for _ in range(20))


def test_router_prefers_the_least_busy_and_skips_paused_endpoints():
    async def scenario():
        router = Router(["http://a/v1", "http://b/v1"], backoff_base=10, backoff_max=10)
        first, second = await router.acquire(), await router.acquire()
        assert {first.base_url, second.base_url} == {"http://a/v1", "http://b/v1"}
        a = router.endpoints[0]
        for _ in range(PAUSE_AFTER_FAILURES):  # a fails repeatedly: paused
            router.release(a, ok=False)
            a.in_flight += 1
        router.release_neutral(a)
        router.release(router.endpoints[1], ok=True)
        picks = [(await router.acquire()).base_url for _ in range(4)]
        assert picks == ["http://b/v1"] * 4 and a.paused_until > time.monotonic() + 4

    asyncio.run(scenario())
