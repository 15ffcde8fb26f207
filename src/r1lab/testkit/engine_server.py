"""The simulated KV-cache engine (``engine.py``) behind the OpenAI-compatible API, in its own process.

``with EngineProcess(EngineConfig(...)) as engine:`` starts it on a free loopback port:
``engine.base_url`` for the client, ``engine.stats()`` for the engine's accounting (``/sim/stats``:
simulated makespan, preemptions, faults), ``engine.reset()`` to zero it between runs (``/sim/reset``).
A request's completion length is ``lengths[i]`` for a prompt containing "job i". For tests and
benchmarks only.
"""

from __future__ import annotations

import re

from aiohttp import web

from r1lab.testkit.engine import EngineConfig, SimEngine
from r1lab.testkit.faults import RandomFaults, act
from r1lab.testkit.process import ServerProcess
from r1lab.testkit.server import Call, LoopbackServer, Reply

JOB = re.compile(rb"job (\d+)")


class SimEngineServer(LoopbackServer):
    """Every request is submitted to the engine and answered when the engine finishes it."""

    model_id = "sim"

    def __init__(self, config: EngineConfig):
        self.config = config
        self.faults = RandomFaults(config.fault_500, config.fault_reset, config.fault_429, config.retry_after)

    async def setup(self) -> None:
        self.engine = SimEngine(self.config)

    async def run_beside(self) -> None:
        await self.engine.loop()

    def metrics(self) -> str | None:
        return self.engine.metrics()

    def add_routes(self, app: web.Application) -> None:
        async def stats(request: web.Request) -> web.Response:
            return web.json_response(self.engine.stats())

        async def reset(request: web.Request) -> web.Response:
            self.engine.reset_stats()
            return web.json_response({"ok": True})

        app.router.add_get("/sim/stats", stats)
        app.router.add_post("/sim/reset", reset)

    async def complete(self, call: Call) -> Reply | web.StreamResponse:
        if call.probe:  # the client's pre-flight probe: no work, no fault
            return Reply(["x"], {"prompt_tokens": 1, "completion_tokens": 1})
        fault = self.faults.draw(self.engine.rng)
        if fault is not None:
            self.engine.faults += 1
            return await act(call.request, fault)
        match = JOB.search(call.raw)
        req = await self.engine.submit(int(match.group(1)) if match else 0)
        return Reply(["x"], {"prompt_tokens": req.prompt, "completion_tokens": req.target})


class EngineProcess(ServerProcess):
    """``with EngineProcess(config) as engine:`` runs the simulated engine in a child process."""

    def __init__(self, config: EngineConfig):
        super().__init__(SimEngineServer(config))
        self.config = config

    def stats(self) -> dict:
        return self.call("GET", "/sim/stats")

    def reset(self) -> None:
        self.call("POST", "/sim/reset")
