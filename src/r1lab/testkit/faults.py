"""Fault injection, and the echo server the client tests drive with it.

A fault is an action tuple: ``("ok",)``, ``("status", code[, headers[, message]])`` (an HTTP error
with a JSON body), ``("reset",)`` (drop the connection), ``("hang",)`` (never answer),
``("delay", seconds)`` (answer late). ``FakeServer`` picks one per request from a policy;
``RandomFaults`` draws them with fixed probabilities (the simulated engine's faults).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from r1lab.testkit.server import Call, LoopbackServer, Reply

Action = tuple


def always_ok(count: int, body: dict[str, Any]) -> Action:
    return ("ok",)


async def act(request: web.Request, action: Action) -> web.StreamResponse | None:
    """Carry out ``action``: the fault's response, or None when the request is to be answered."""
    kind = action[0]
    if kind == "reset":
        request.transport.close()
        await asyncio.sleep(0.05)
        return web.Response(status=500)
    if kind == "hang":
        await asyncio.sleep(3600)
    if kind == "status":
        headers = action[2] if len(action) > 2 else {}
        message = action[3] if len(action) > 3 else "injected"
        return web.json_response({"error": message}, status=action[1], headers=headers)
    if kind == "delay":
        await asyncio.sleep(action[1])
    return None


@dataclass
class RandomFaults:
    """Each request, on arrival, gets HTTP 500, a reset or a 429 with Retry-After, with these odds."""

    fault_500: float = 0.0
    fault_reset: float = 0.0
    fault_429: float = 0.0
    retry_after: float = 0.2

    def draw(self, rng: random.Random) -> Action | None:
        """One draw per request (so a seeded run injects the same faults): the action, or None."""
        draw = rng.random()
        if draw < self.fault_500:
            return ("status", 500)
        if draw < self.fault_500 + self.fault_reset:
            return ("reset",)
        if draw < self.fault_500 + self.fault_reset + self.fault_429:
            return ("status", 429, {"Retry-After": str(self.retry_after)}, "slow down")
        return None


def echo(call: Call, reasoning: bool = False, honour_n: bool = True) -> Reply:
    """``echo[i]: PROMPT`` per choice, so a test can check each generation went back to its row."""
    n = int(call.body.get("n", 1)) if honour_n else 1
    prompt = call.prompt
    texts = [f"echo[{i}]: {prompt}" for i in range(n)]
    thoughts = [f"thinking about {prompt[:20]}"] * n if reasoning and call.chat else None
    usage = {"prompt_tokens": len(prompt), "completion_tokens": 7 * n}
    return Reply(texts, usage, "stop" if call.chat else "length", thoughts)


class FakeServer(LoopbackServer):
    """Answers at once with ``echo``, or with the fault ``policy(count, body)`` picks for the count-th request.

    Requests with ``max_tokens == 1`` are the client's pre-flight probe: answered with
    ``probe_action`` and kept in ``probes``, apart from the counted ``requests``. ``honour_n=False``
    answers one choice whatever ``n`` asks (like ``transformers serve``); ``reasoning`` adds
    ``reasoning_content``. Runs in a thread: ``with FakeServer(...) as server:``.
    """

    model_id = "fake-model"

    def __init__(
        self,
        policy: Callable[[int, dict], Action] = always_ok,
        reasoning: bool = False,
        honour_n: bool = True,
        probe_action: Action = ("ok",),
    ):
        self.policy = policy
        self.probe_action = probe_action
        self.probes: list[dict[str, Any]] = []  # the client's one-token test request, kept apart
        self.reasoning = reasoning
        self.honour_n = honour_n
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def complete(self, call: Call) -> Reply | web.StreamResponse:
        if call.probe:
            self.probes.append(call.body)
            action = self.probe_action
        else:
            with self.lock:
                count = len(self.requests)
                self.requests.append(call.body)
            action = self.policy(count, call.body)
        response = await act(call.request, action)
        if response is not None:
            return response
        return echo(call, self.reasoning, self.honour_n)
