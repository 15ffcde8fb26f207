"""Reference for ``--max-concurrent auto``: an admission gate with no lag, inside the simulated engine.

The gate runs in the engine's own loop (no HTTP, no polling): at every decode step it admits one
more request while the KV cache is under a target usage and nothing waits. This is the best a
client that gates on the cache could do; where it cannot meet a target, no client can. The
workloads are those of ``bench/generation.py --only kv`` (same lengths, seed, cache sizes,
regimes); the ratios are to the same fixed-window sweep, run here in-process too.

Run: ``.venv/bin/python bench/kv_gate_reference.py`` (a few seconds); see docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_sim import EngineConfig, SimEngine, lognormal_lengths  # noqa: E402

from generation import KV_SERVERS, REGIMES  # noqa: E402

TARGETS = (0.8, 0.85, 0.9, 0.95)


async def run(config: EngineConfig, n: int, window: int | None = None, target: float = 1.0) -> dict:
    """A fixed window (``window``) or the per-step gate (``target``), stepped in-process."""
    engine, sent, pending = SimEngine(config), 0, set()
    while sent < n or pending:
        if window is not None:
            while sent < n and len(pending) < window:
                pending.add(engine.submit(sent))
                sent += 1
        elif sent < n and engine.usage() < target and not engine.waiting:
            pending.add(engine.submit(sent))
            sent += 1
        engine.step()
        pending = {f for f in pending if not f.done()}
    return engine.stats()


def main() -> None:
    print(
        "| regime | KV tokens | best fixed (in-process) | "
        + " | ".join(f"gate at {t:.0%}" for t in TARGETS)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(TARGETS))
    print("(each cell: makespan / best fixed window's, preemptions / a fixed 256's)")
    for regime, prefill in REGIMES.items():
        for kv_tokens, n in KV_SERVERS:
            config = EngineConfig(
                kv_tokens=kv_tokens, block_size=4, prompt_tokens=24, step_base=1e-3, step_per_seq=1e-5,
                prefill_per_token=prefill, lengths=lognormal_lengths(n, mean=120, sigma=0.6, cap=600, seed=2),
            )  # fmt: skip
            capacity = kv_tokens // 130
            sweep = sorted({max(2, int(capacity * f)) for f in (0.5, 0.75, 1, 1.25, 1.5, 2, 4)} | {256})
            fixed = {w: asyncio.run(run(config, n, window=w)) for w in sweep}
            best = min(sweep, key=lambda w: fixed[w]["makespan"])
            t_best, p_big = fixed[best]["makespan"], max(1, fixed[256]["preemptions"])
            cells = []
            for target in TARGETS:
                gate = asyncio.run(run(config, n, target=target))
                cells.append(f"{gate['makespan'] / t_best:.3f}x, {gate['preemptions'] / p_big:.2f}")
            print(f"| {regime} | {kv_tokens} | {best} ({t_best:.3f} s) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
