"""A loopback OpenAI-compatible server that answers instantly or injects faults, for the client tests.

It runs an aiohttp app in a background thread. ``policy(count, body)`` picks what the server does
with the count-th request: ``("ok",)``, ``("status", code, headers)``, ``("reset",)`` (drop the
connection), ``("hang",)`` (never answer), ``("delay", seconds)``. Requests with ``max_tokens == 1`` are the client's pre-flight probe: they are answered with
``probe_action`` and kept in ``probes``, apart from the counted work. Each answer echoes the prompt
so tests can check that generations went back to the right row.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

Action = tuple


def always_ok(count: int, body: dict[str, Any]) -> Action:
    return ("ok",)


def prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        return body["messages"][-1]["content"]
    return body["prompt"]


def answer(body: dict[str, Any], chat: bool, reasoning: bool = False) -> dict[str, Any]:
    n = int(body.get("n", 1))
    prompt = prompt_of(body)
    choices = []
    for i in range(n):
        text = f"echo[{i}]: {prompt}"
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                message["reasoning_content"] = f"thinking about {prompt[:20]}"
            choices.append({"index": i, "message": message, "finish_reason": "stop"})
        else:
            choices.append({"index": i, "text": text, "finish_reason": "length"})
    return {"choices": choices, "usage": {"prompt_tokens": len(prompt), "completion_tokens": 7 * n}}


class FakeServer:
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
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _completion(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("max_tokens") == 1:
            self.probes.append(body)
            action = self.probe_action
        else:
            with self.lock:
                count = len(self.requests)
                self.requests.append(body)
            action = self.policy(count, body)
        kind = action[0]
        if kind == "reset":
            request.transport.close()
            await asyncio.sleep(0.05)
            return web.Response(status=500)
        if kind == "hang":
            await asyncio.sleep(3600)
        if kind == "status":
            headers = action[2] if len(action) > 2 else {}
            return web.Response(status=action[1], text=json.dumps({"error": "injected"}), headers=headers)
        if kind == "delay":
            await asyncio.sleep(action[1])
        if not self.honour_n:
            body = {**body, "n": 1}
        return web.json_response(
            answer(body, chat=request.path.endswith("chat/completions"), reasoning=self.reasoning)
        )

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": "fake-model"}]})

    async def _main(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completion)
        app.router.add_post("/v1/completions", self._completion)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> FakeServer:
        def target() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._main())
            pending = asyncio.all_tasks(self._loop)  # handlers still hanging: cancel them quietly
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


if __name__ == "__main__":  # a standalone slow server for the kill test: python fake_server.py PORTFILE DELAY
    import sys
    import time

    delay = float(sys.argv[2])
    with FakeServer(lambda c, b: ("delay", delay)) as server:
        with open(sys.argv[1], "w") as f:
            f.write(str(server.port))
        while True:
            time.sleep(1)
