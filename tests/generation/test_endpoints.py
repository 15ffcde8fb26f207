"""Backoff arithmetic and the router's choice of endpoint."""

from __future__ import annotations

import asyncio
import random
import time
from email.utils import formatdate

from r1lab.generation.endpoints import DOWN_AFTER_FAILURES, Router, backoff_delay, parse_retry_after


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 8 < parse_retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10


def test_backoff_is_jittered_capped_and_never_below_retry_after():
    delays = [backoff_delay(attempt, 1.0, 8.0) for attempt in range(10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays) and len(set(delays)) > 100
    assert all(backoff_delay(0, 1.0, 8.0, retry_after=5) >= 5 for _ in range(20))


def test_router_prefers_the_least_busy_and_skips_endpoints_that_are_down():
    async def scenario():
        router = Router(["http://a/v1", "http://b/v1"], backoff_base=10, backoff_max=10)
        first, second = await router.acquire(), await router.acquire()
        assert {first.base_url, second.base_url} == {"http://a/v1", "http://b/v1"}
        a = router.endpoints[0]
        for _ in range(DOWN_AFTER_FAILURES):  # every recent request to a failed: a is down
            router.release(a, ok=False)
            a.in_flight += 1
        router.release_neutral(a)
        router.release(router.endpoints[1], ok=True)
        picks = [(await router.acquire()).base_url for _ in range(4)]
        assert picks == ["http://b/v1"] * 4 and a.paused_until > time.monotonic() + 4

    asyncio.run(scenario())


def test_a_flaky_endpoint_is_never_paused_a_refused_one_is_at_once():
    async def scenario():
        rng = random.Random(1)
        router = Router(["http://a/v1"], backoff_base=10, backoff_max=10)
        for _ in range(5000):  # one request in five fails, at random: never paused
            endpoint = await router.acquire()
            router.release(endpoint, ok=rng.random() > 0.2)
        (a,) = router.endpoints
        assert a.paused_until == 0 and 900 < a.failures < 1100 and 0.5 < a.health < 1
        endpoint = await router.acquire()
        router.release(endpoint, ok=False, down=True)  # connection refused: down
        assert a.paused_until > time.monotonic() + 4

    asyncio.run(scenario())


def test_a_paused_endpoint_gets_one_probe_and_a_failed_probe_doubles_the_pause():
    async def scenario():
        router = Router(["http://a/v1"], backoff_base=0.05, backoff_max=10)
        (a,) = router.endpoints
        router.release(await router.acquire(), ok=False, down=True)
        first_pause = a.paused_until - time.monotonic()
        probe = await router.acquire()  # waits out the pause
        assert a.probing and a.paused_until <= time.monotonic()
        waiter = asyncio.ensure_future(router.acquire())
        await asyncio.sleep(0.05)
        assert not waiter.done()  # nothing else goes out while the probe is in flight
        router.release(probe, ok=False)
        assert a.pauses == 2 and a.paused_until - time.monotonic() > first_pause * 0.9
        router.release(await waiter, ok=True)  # the next probe succeeds: open again
        assert a.pauses == 0 and not a.probing

    asyncio.run(scenario())


def test_load_shifts_away_from_a_fast_failing_endpoint():
    async def scenario():
        rng = random.Random(0)
        router = Router(["http://good/v1", "http://bad/v1"], backoff_base=0.0)
        good, bad = router.endpoints
        holding = []  # (tick when done, endpoint): a success takes 10 ticks, a failure none
        succeeded = {"good": 0, "bad": 0}
        for tick in range(2000):
            for done in [h for h in holding if h[0] <= tick]:
                holding.remove(done)
                router.release(done[1], ok=True)
                succeeded[done[1].base_url[7:-3]] += 1
            while len(holding) < 16:  # a window of 16
                endpoint = await router.acquire()
                if endpoint is bad and rng.random() < 0.5:
                    router.release(bad, ok=False)  # fails at once, before the window refills
                else:
                    holding.append((tick + 10, endpoint))
        # Fewest-in-flight alone would give bad far more than half the attempts (its failures
        # free their slot at once); the health term gives it a small share of the work.
        assert succeeded["bad"] < 0.25 * succeeded["good"] and bad.requests < 0.5 * good.requests

    asyncio.run(scenario())


def test_retry_delay_is_short_on_a_mostly_healthy_endpoint_and_full_on_a_failing_one():
    router = Router(["http://a/v1"], backoff_base=1.0, backoff_max=60)
    (a,) = router.endpoints
    a.health = 0.8
    healthy = [router.retry_delay(a, 0) for _ in range(500)]
    a.health = 0.0
    failing = [router.retry_delay(a, 0) for _ in range(500)]
    assert max(healthy) <= 0.2 + 1e-9 and 0.35 < sum(failing) / 500 < 0.65
    assert all(router.retry_delay(a, 0, retry_after=2) >= 2 for _ in range(20))
