"""A loopback OpenAI-compatible server that answers MATH-style problems from a lookup table.

It finds the problem inside the user turn (the prompt is "{problem}\\n<instruction>"), and
answers with the text ``answer_for(problem, sample_index)`` returns, so a test decides exactly
which samples are right and which are wrong. ``sample_index`` counts the requests (or ``n``
choices) seen for that prompt, so N separate requests per problem get indices 0..N-1.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import defaultdict
from collections.abc import Callable

import pytest
from aiohttp import web

from r1lab.prompts import DEEPSEEK_MATH_INSTRUCTION


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ReplayServer:
    def __init__(self, problems: list[str], answer_for: Callable[[str, int], str]):
        self.problems = set(problems)
        self.answer_for = answer_for
        self.seen: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def find_problem(self, prompt: str) -> str:
        suffix = "\n" + DEEPSEEK_MATH_INSTRUCTION
        if prompt.endswith(suffix) and prompt[: -len(suffix)] in self.problems:
            return prompt[: -len(suffix)]
        matches = [p for p in self.problems if p in prompt]
        if not matches:
            raise web.HTTPBadRequest(text="unknown problem")
        return max(matches, key=len)

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        problem = self.find_problem(prompt)
        n = int(body.get("n") or 1)
        with self.lock:
            start = self.seen[problem]
            self.seen[problem] += n
            self.requests += 1
        texts = [self.answer_for(problem, start + i) for i in range(n)]
        choices = [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
            for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": sum(len(t) // 4 for t in texts)}
        return web.json_response(
            {
                "id": "cmpl-replay",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": choices,
                "usage": usage,
            }
        )

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "replay", "object": "model"}]})

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", lambda r: web.json_response({"status": "ok"}))
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        assert self._started.wait(10), "loopback server did not start"
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def replay_server():
    """``replay_server(problems, answer_for)`` -> a started ReplayServer (stopped after the test)."""
    servers: list[ReplayServer] = []

    def start(problems, answer_for):
        server = ReplayServer(list(problems), answer_for).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
