"""The simulated engine stepped in-process, with no HTTP: fixed windows and ``auto``'s controller.

``EngineProcess`` judges the real client over HTTP, in wall time, and takes seconds to minutes per
run; stepping ``SimEngine`` in this process takes a second and is deterministic, so tests and
``bench/kv_gate_reference.py`` compare ``--max-concurrent auto`` with a sweep of fixed windows on
many workloads. ``run_auto`` feeds ``AdaptiveConcurrency`` exactly what the client does: a
``started`` per request sent, an ``observe`` per completion, and the engine's ``/metrics`` page
every poll interval, read ``reading_lag`` simulated seconds late.
"""

from __future__ import annotations

import asyncio

from r1lab.generation.concurrency import AdaptiveConcurrency
from r1lab.generation.server_metrics import parse_metrics
from r1lab.testkit.engine import EngineConfig, SimEngine

#: Simulated seconds between the engine's state and the controller reading it (an HTTP round trip).
READING_LAG = 0.002


def run_fixed(config: EngineConfig, n: int, window: int) -> dict:
    """``n`` requests through a fixed window of ``window``; the engine's ``stats()``."""

    async def go() -> dict:
        engine, sent, pending = SimEngine(config), 0, set()
        while sent < n or pending:
            while sent < n and len(pending) < window:
                pending.add(engine.submit(sent))
                sent += 1
            engine.step()
            pending = {f for f in pending if not f.done()}
        return engine.stats()

    return asyncio.run(go())


def run_auto(config: EngineConfig, n: int, reading_lag: float = READING_LAG) -> dict:
    """``n`` requests through ``auto``'s window; the engine's ``stats()``."""

    async def go() -> dict:
        engine = SimEngine(config)
        controller = AdaptiveConcurrency([""], max_tokens=max(config.lengths))
        sent, pending, readings, next_poll = 0, {}, [], 0.0
        while sent < n or pending:
            while sent < n and len(pending) < controller.limit:
                pending[sent] = (engine.submit(sent), engine.clock, controller.started(now=engine.clock))
                sent += 1
            engine.step()
            for index, (future, start, handle) in list(pending.items()):
                if future.done():
                    del pending[index]
                    request = future.result()
                    controller.observe(request.target, engine.clock - start, request.prompt, handle)
            if engine.clock >= next_poll:
                readings.append((engine.clock + reading_lag, engine.metrics()))
                next_poll = engine.clock + controller.poll_interval()
            while readings and readings[0][0] <= engine.clock:
                controller.step_metrics(parse_metrics(readings.pop(0)[1]), engine.clock)
        return engine.stats()

    return asyncio.run(go())


def judge_auto(fixed: dict[int, tuple[float, float]], auto: tuple[float, float]) -> dict:
    """Issue 26's target for ``auto`` against a sweep of fixed windows (one of them 256).

    ``fixed`` maps each window to (makespan, preemptions), ``auto`` is its own pair. Met when
    ``auto`` is within 5% of the best fixed window's makespan with at most 1/5 of window 256's
    preemptions; where no fixed window meets both, when ``auto`` is on the trade-off frontier (no
    fixed window at least 3% faster with no more preemptions) and within 10% of the best.
    """
    best = min(fixed, key=lambda w: fixed[w][0])
    t_best, p_big = fixed[best][0], max(1.0, fixed[256][1])
    ratio, share = auto[0] / t_best, auto[1] / p_big
    both = [w for w, (t, p) in fixed.items() if t <= 1.05 * t_best and p <= 0.2 * p_big]
    dominating = [w for w, (t, p) in fixed.items() if t <= auto[0] / 1.03 and p <= auto[1]]
    met = (ratio <= 1.05 and share <= 0.2) or (not both and not dominating and ratio <= 1.10)
    return {
        "best_window": best,
        "auto_over_best": round(ratio, 3),
        "auto_preemptions_over_256": round(share, 3),
        "fixed_windows_meeting_both": both,
        "fixed_windows_dominating_auto": dominating,
        "target_met": met,
    }
