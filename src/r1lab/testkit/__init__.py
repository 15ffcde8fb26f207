"""Loopback OpenAI-compatible servers for r1lab's tests and benchmarks: one kit, not a server per file.

For tests and benchmarks only (nothing in r1lab imports it), and loopback only: every server binds
127.0.0.1 on a free port. ``server.LoopbackServer`` holds what they share (the chat and completions
routes, replies with ``n`` choices and usage, SSE streaming, ``/health``, ``/v1/models``,
``/metrics``, start and stop in a thread or in a child process); each behaviour is a small subclass:

- ``FakeServer`` (``faults.py``): echoes the prompt at once or injects the fault a policy picks
  (HTTP status, reset, hang, delay); the client's tests.
- ``LengthServer``, ``InstantServer`` (``lengths.py``): answers of known lengths through a
  limited number of slots (schedules, utilization, the long tail), and the instant server of the
  overhead benchmark.
- ``ReplayServer`` (``replay.py``): scripted or recorded generations per problem (evaluation).
- ``EngineProcess`` (``engine_server.py`` over ``engine.py``): the simulated KV-cache engine with
  vLLM- or SGLang-style ``/metrics``, preemption and random faults (``--max-concurrent auto``).
- ``run_fixed``, ``run_auto`` (``stepping.py``): the same engine stepped in-process, no HTTP: a
  fixed window or ``auto``'s controller over one workload in a second, deterministically, and
  ``judge_auto``, the target ``auto`` is held to against a sweep of fixed windows.
"""

from r1lab.testkit.engine import EngineConfig, SimEngine, lognormal_lengths
from r1lab.testkit.engine_server import EngineProcess, SimEngineServer
from r1lab.testkit.faults import FakeServer, RandomFaults, always_ok
from r1lab.testkit.lengths import InstantServer, LengthServer
from r1lab.testkit.process import ServerProcess
from r1lab.testkit.replay import ReplayServer
from r1lab.testkit.server import Call, LoopbackServer, Reply
from r1lab.testkit.stepping import judge_auto, run_auto, run_fixed

__all__ = [
    "Call",
    "EngineConfig",
    "EngineProcess",
    "FakeServer",
    "InstantServer",
    "LengthServer",
    "LoopbackServer",
    "RandomFaults",
    "Reply",
    "ReplayServer",
    "ServerProcess",
    "SimEngine",
    "SimEngineServer",
    "always_ok",
    "judge_auto",
    "lognormal_lengths",
    "run_auto",
    "run_fixed",
]
