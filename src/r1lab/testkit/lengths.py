"""Servers whose answers take a known number of tokens: a list-scheduling engine, and an instant one.

``LengthServer`` is what the schedule tests and the utilization and long-tail benchmarks measure
against: the k-th request for item p (the number after ``problem`` or ``job`` in the prompt) takes
the k-th of ``lengths[p]`` tokens, and holds one of ``slots`` (like KV-cache capacity) for
``tokens * token_time`` seconds. Every client in a comparison so does the same work, and a
schedule's makespan and send order can be measured side by side. ``InstantServer`` answers a
prebuilt body at once: the client's own overhead.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence

from aiohttp import web

from r1lab.testkit.server import Call, LoopbackServer, Reply


class LengthServer(LoopbackServer):
    """The k-th request for item p answers ``lengths[p][k % len]`` tokens after ``tokens * token_time`` s.

    ``slots``: at most this many requests are served at once (the rest queue); None, no limit.
    ``pattern``: how an item's number is read from the request. ``cap_at_max_tokens``: the answer
    is cut at the request's ``max_tokens``. The pre-flight probe (``max_tokens`` 1) is answered at
    once and not counted. ``sent`` lists the item of each request in arrival order.
    """

    def __init__(
        self,
        lengths: Mapping[int, Sequence[int]] | Sequence[Sequence[int]],
        token_time: float = 0.0,
        slots: int | None = None,
        prompt_tokens: int = 5,
        pattern: str = r"problem (\d+)",
        cap_at_max_tokens: bool = False,
    ):
        self.lengths = lengths
        self.token_time = token_time
        self.slots = slots
        self.prompt_tokens = prompt_tokens
        self.pattern = re.compile(pattern.encode())
        self.cap_at_max_tokens = cap_at_max_tokens
        self.sent: list[int] = []
        self.counters: dict[int, int] = {}

    async def setup(self) -> None:
        self._slots = asyncio.Semaphore(self.slots) if self.slots else None

    async def complete(self, call: Call) -> Reply:
        tokens = 1
        if not call.probe:
            p = int(self.pattern.search(call.raw).group(1))
            k = self.counters.get(p, 0)
            self.counters[p] = k + 1
            self.sent.append(p)
            tokens = self.lengths[p][k % len(self.lengths[p])]
            if self.cap_at_max_tokens:
                tokens = min(tokens, int(call.body.get("max_tokens", tokens)))
            if self._slots is None:
                await asyncio.sleep(tokens * self.token_time)
            else:
                async with self._slots:
                    await asyncio.sleep(tokens * self.token_time)
        return Reply(["x"], {"prompt_tokens": self.prompt_tokens, "completion_tokens": tokens})


INSTANT_BODY = json.dumps(
    {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1},
    }
).encode()


class InstantServer(LoopbackServer):
    """Answers every request at once with the same prebuilt body, without parsing it."""

    async def complete(self, call: Call) -> web.Response:
        return web.Response(body=INSTANT_BODY, content_type="application/json")
