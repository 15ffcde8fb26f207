"""Reference for ``--max-concurrent auto``: an admission gate with no lag, inside the simulated engine.

The gate runs in the engine's own loop (no HTTP, no polling): at every decode step it admits one
more request while the KV cache is under a target usage and nothing waits. This is the best a
client that gates on the cache could do; where it cannot meet a target, no client can. The
workloads are those of ``bench/generation.py --only kv`` (same lengths, seed, cache sizes,
regimes); the ratios are to the same fixed-window sweep, run here in-process too.

A second reference forecasts instead of reading the usage: it knows how many tokens each running
request has generated (a client that streams does too) and admits while the chance that the cache
overflows before the running requests finish stays under ``FORECAST_RISK``, drawing each running
request's final length from the completed ones longer than what it has generated. The third row
set steps the real ``AdaptiveConcurrency`` controller in-process (reading ``/metrics`` pages every
poll interval, with a 2 ms reading lag) over three seeds of the workload: a quick, deterministic
check of the controller that the HTTP benchmark takes minutes for.

Run: ``.venv/bin/python bench/kv_gate_reference.py`` (about ten seconds); see docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
from functools import partial

import numpy as np
from record import table, write_results

from generation import (
    KV_SEED,
    KV_SERVERS,
    R1_SERVERS,
    R1_TYPICAL_TOKENS,
    REGIMES,
    TYPICAL_REQUEST_TOKENS,
    kv_sweep,
    kv_workload,
    r1_workload,
)  # fmt: skip
from r1lab.testkit import EngineConfig, SimEngine, judge_auto, run_auto
from r1lab.testkit.stepping import READING_LAG

TARGETS = (0.8, 0.85, 0.9, 0.95)
FORECAST_RISK = 0.2  # admit while P(the cache overflows before the running requests end) < this
FORECAST_DRAWS = 64
SEEDS = (1, KV_SEED, 3)  # the controller's column; the others use KV_SEED


def overflow_risk(engine: SimEngine, finished: np.ndarray, young: int, rng) -> float:
    """The share of draws in which the running requests (and ``young`` new ones) overflow the cache.

    With no more admissions the cache's usage rises linearly between finishes, so its peak is just
    before one of the running requests finishes: the sum, over those still running then, of their
    context at that moment.
    """
    capacity = engine.total_blocks * engine.config.block_size
    generated = np.array([r.generated for r in engine.running] + [0] * young, dtype=float)
    draws = rng.random((FORECAST_DRAWS, len(generated)))
    finished = np.sort(finished)
    # a draw from the finished lengths longer than what each request has generated
    low = np.searchsorted(finished, generated, side="right")
    pick = np.minimum(len(finished) - 1, low + (draws * (len(finished) - low)).astype(int))
    final = np.where(low < len(finished), finished[pick], generated + 1)
    order = np.argsort(final - generated, axis=1)
    remaining = np.take_along_axis(final - generated, order, axis=1)
    context = (engine.config.prompt_tokens + generated)[order]
    still = np.cumsum(context[:, ::-1], axis=1)[:, ::-1]  # context of those finishing at or after
    peak = (still + np.arange(len(generated), 0, -1) * remaining).max(axis=1)
    return float((peak > capacity).mean())


async def run_forecast(config: EngineConfig, n: int, warmup: int = 16) -> dict:
    """The forecast gate; the first ``warmup`` requests are gated at 80% usage (nothing finished yet)."""
    engine, sent, pending, finished = SimEngine(config), 0, set(), []
    rng = np.random.default_rng(0)
    while sent < n or pending:
        while sent < n and not engine.waiting:
            if len(finished) < warmup:
                if engine.usage() >= 0.8:
                    break
            elif overflow_risk(engine, np.array(finished, dtype=float), 1, rng) >= FORECAST_RISK:
                break
            pending.add(engine.submit(sent))
            sent += 1
            engine._admit()  # in now, so that the next forecast sees it running
        engine.step()
        for future in [f for f in pending if f.done()]:
            pending.discard(future)
            finished.append(future.result().target)
    return engine.stats()


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


def workloads():
    """(regime, workload name, KV tokens, requests, typical request tokens, config for a seed)."""
    for regime, prefill in REGIMES.items():
        for kv_tokens, n in KV_SERVERS:
            yield (
                regime,
                "short",
                kv_tokens,
                n,
                TYPICAL_REQUEST_TOKENS,
                partial(kv_workload, kv_tokens, n, prefill),
            )
    prefill = REGIMES["expensive recompute"]
    for kv_tokens, n in R1_SERVERS:
        yield (
            "expensive recompute",
            "R1-like",
            kv_tokens,
            n,
            R1_TYPICAL_TOKENS,
            partial(r1_workload, kv_tokens, n, prefill),
        )


def main() -> None:
    columns = (
        ["regime", "lengths", "KV tokens", "best fixed (in-process)"]
        + [f"gate at {t:.0%}" for t in TARGETS]
        + [
            f"forecast, risk {FORECAST_RISK:.0%}",
            "controller, seeds " + "; ".join(map(str, SEEDS)),
            "target met",
        ]
    )
    rows, verdicts = [], []
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|" + "---|" * (len(TARGETS) + 3))
    print("(each cell: makespan / best fixed window's, preemptions / a fixed 256's)")
    for regime, lengths, kv_tokens, n, typical, make in workloads():
        ratios, met = {}, []
        for seed in SEEDS:
            config = make(seed)
            fixed = {w: asyncio.run(run(config, n, window=w)) for w in kv_sweep(kv_tokens, typical)}
            best = min(fixed, key=lambda w: fixed[w]["makespan"])
            t_best, p_big = fixed[best]["makespan"], max(1, fixed[256]["preemptions"])

            def ratio(stats: dict, t_best=t_best, p_big=p_big) -> str:
                return f"{stats['makespan'] / t_best:.3f}x, {stats['preemptions'] / p_big:.2f}"

            auto = run_auto(config, n)
            ratios[seed] = ratio(auto)
            verdict = judge_auto(
                {w: (r["makespan"], r["preemptions"]) for w, r in fixed.items()},
                (auto["makespan"], auto["preemptions"]),
            )
            met.append(verdict["target_met"])
            verdicts.append(
                {"regime": regime, "lengths": lengths, "kv_tokens": kv_tokens, "seed": seed, **verdict}
            )
            if seed == KV_SEED:  # the workload of bench/generation.py
                head = f"{best} ({t_best:.3f} s)"
                cells = [ratio(asyncio.run(run(config, n, target=t))) for t in TARGETS]
                cells.append(ratio(asyncio.run(run_forecast(config, n))))
        controller = "; ".join(ratios[s] for s in SEEDS)
        rows.append([regime, lengths, kv_tokens, head, *cells, controller, f"{sum(met)}/{len(met)}"])
        print(f"| {regime} | {lengths} | {kv_tokens} | {head} | " + " | ".join(cells) + f" | {controller} | {sum(met)}/{len(met)} |", flush=True)  # fmt: skip
    args = {"targets": TARGETS, "forecast_risk": FORECAST_RISK, "seeds": SEEDS, "reading_lag": READING_LAG}
    write_results(
        "kv_gate_reference",
        args,
        {"rows": rows, "verdicts": verdicts},
        tables={"summary": table(columns, rows)},
    )


if __name__ == "__main__":
    main()
