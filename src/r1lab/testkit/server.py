"""The base of every loopback test server: OpenAI-style routes, replies, SSE streaming, start and stop.

A server is a subclass that answers one completion request in ``complete(call)``: with a
``Reply`` (texts and usage; the base writes the chat or completions body, ``n`` choices, and
streams it as server-sent events when the request asks for ``stream``) or with a ready aiohttp
response (an injected fault, a prebuilt body). Every server also answers ``/health``,
``/v1/models`` and ``/metrics`` (404 unless the subclass writes a page, as ``transformers serve``
has none), and may add routes of its own (``add_routes``).

It binds 127.0.0.1 on a free port and runs either in a background thread of the caller
(``with Server(...) as server:``, the state is readable directly: requests seen, counters) or in
a child process (``server.process()``, see ``process.py``), so that a client under measurement
shares no event loop or GIL with it. For tests and benchmarks only: nothing in r1lab imports it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from r1lab.testkit.process import ServerProcess

HOST = "127.0.0.1"


@dataclass
class Call:
    """One completion request as it arrived; ``body`` is parsed only when asked for."""

    request: web.Request
    raw: bytes

    @cached_property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def chat(self) -> bool:
        return self.request.path.endswith("chat/completions")

    @property
    def prompt(self) -> str:
        """The last user turn (chat) or the prompt (completions)."""
        if "messages" in self.body:
            return self.body["messages"][-1]["content"]
        return self.body["prompt"]

    @property
    def probe(self) -> bool:
        """r1lab's pre-flight test request (the first row with ``max_tokens`` 1)."""
        return self.body.get("max_tokens") == 1


@dataclass
class Reply:
    """What a server answers: one text per choice, the usage, and how each choice ended."""

    texts: list[str]
    usage: dict[str, int]
    finish_reason: str = "stop"
    reasoning: list[str] | None = None  # ``reasoning_content`` per choice (chat only)


def reply_body(reply: Reply, chat: bool, model: Any = None) -> dict[str, Any]:
    """The non-streamed OpenAI body of a reply."""
    choices = []
    for i, text in enumerate(reply.texts):
        if chat:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reply.reasoning is not None:
                message["reasoning_content"] = reply.reasoning[i]
            choices.append({"index": i, "message": message, "finish_reason": reply.finish_reason})
        else:
            choices.append({"index": i, "text": text, "finish_reason": reply.finish_reason})
    kind = "chat.completion" if chat else "text_completion"
    return {"id": "cmpl-loopback", "object": kind, "model": model, "choices": choices, "usage": reply.usage}


def _sse(chunk: Any) -> bytes:
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


async def stream_reply(call: Call, reply: Reply) -> web.StreamResponse:
    """The reply as server-sent events, one chunk per word, like vLLM's and ``transformers serve``'s.

    Each choice's text goes out word by word, then a chunk with its finish reason; the usage comes
    last when the request asked for it (``stream_options.include_usage``), then ``[DONE]``.
    """
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(call.request)
    for i, text in enumerate(reply.texts):
        if call.chat and reply.reasoning is not None:
            delta = {"role": "assistant", "reasoning_content": reply.reasoning[i]}
            await response.write(_sse({"choices": [{"index": i, "delta": delta, "finish_reason": None}]}))
        for piece in re.findall(r"\s*\S+\s*", text) or [text]:
            choice = {"index": i, "delta": {"content": piece}} if call.chat else {"index": i, "text": piece}
            await response.write(_sse({"choices": [{**choice, "finish_reason": None}]}))
        end = {"index": i, "delta": {}} if call.chat else {"index": i, "text": ""}
        await response.write(_sse({"choices": [{**end, "finish_reason": reply.finish_reason}]}))
    if (call.body.get("stream_options") or {}).get("include_usage"):
        await response.write(_sse({"choices": [], "usage": reply.usage}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


class Loopback:
    """A server's address once it listens: ``port``, ``base_url`` (for the client), ``root_url``."""

    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"


class LoopbackServer(Loopback):
    """Routes, replies and lifecycle; subclasses implement ``complete`` (and optionally the hooks)."""

    model_id = "loopback"  # what /v1/models lists

    # ------------------------------------------------------------ what a subclass provides
    async def complete(self, call: Call) -> Reply | web.StreamResponse:
        raise NotImplementedError

    async def setup(self) -> None:
        """Create state bound to the serving loop (semaphores, an engine); runs before the first request."""

    async def run_beside(self) -> None:
        """A task run beside the HTTP server for its lifetime (the simulated engine's scheduler)."""

    def metrics(self) -> str | None:
        """The Prometheus page of ``/metrics``, or None for a 404."""
        return None

    def add_routes(self, app: web.Application) -> None:
        """Routes beyond the OpenAI ones (``/sim/stats``)."""

    # ------------------------------------------------------------ the routes
    async def _completion(self, request: web.Request) -> web.StreamResponse:
        call = Call(request, await request.read())
        result = await self.complete(call)
        if isinstance(result, web.StreamResponse):
            return result
        if call.body.get("stream"):
            return await stream_reply(call, result)
        return web.json_response(reply_body(result, call.chat, call.body.get("model")))

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model_id, "object": "model"}]})

    async def _metrics(self, request: web.Request) -> web.Response:
        text = self.metrics()
        if text is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=text, content_type="text/plain")

    async def serve(self, on_ready, stop: asyncio.Event | None = None) -> None:
        """Serve on a free loopback port; ``on_ready(port)`` once it listens; until ``stop`` is set."""
        await self.setup()
        app = web.Application(client_max_size=2**20)
        app.router.add_post("/v1/chat/completions", self._completion)
        app.router.add_post("/v1/completions", self._completion)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/metrics", self._metrics)
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        beside = asyncio.create_task(self.run_beside())
        on_ready(self.port)
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            beside.cancel()
            await runner.cleanup()

    # ------------------------------------------------------------ in a thread
    def __enter__(self):
        ready = threading.Event()
        self._stop: asyncio.Event | None = None

        async def main() -> None:
            self._stop = asyncio.Event()
            await self.serve(lambda port: ready.set(), self._stop)

        def target() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(main())
            pending = asyncio.all_tasks(self._loop)  # handlers still hanging: cancel them quietly
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start on {HOST}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    # ------------------------------------------------------------ in a child process
    def process(self, uvloop: bool = False) -> ServerProcess:
        """This server in its own process: ``with server.process() as handle: handle.base_url``."""
        from r1lab.testkit.process import ServerProcess

        return ServerProcess(self, uvloop=uvloop)
