"""A flaky server must not stall the run: faults against the simulated engine (r1lab.testkit).

The engine runs in its own process with 16 slots; 20% of requests get a fault (10% HTTP 500,
5% connection reset, 5% 429 with Retry-After 0.2 s). Before the fix the endpoint was paused
after three failures in a row and the run crawled at one request in flight of 32.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from r1lab.generation import GenerateConfig, generate
from r1lab.testkit import EngineConfig, EngineProcess, lognormal_lengths

MIXED_FAULTS = {"fault_500": 0.10, "fault_reset": 0.05, "fault_429": 0.05, "retry_after": 0.2}
N_ROWS = 120


def engine_config(mean: int = 60, n_rows: int = N_ROWS, **kw) -> EngineConfig:
    lengths = lognormal_lengths(n_rows, mean=mean, sigma=0.5, cap=4 * mean, seed=1)
    return EngineConfig(max_running=16, lengths=lengths, step_base=1e-3, **kw)


def run(urls, out: Path, n_rows: int = N_ROWS, **kw) -> tuple[object, list[dict]]:
    options = dict(
        output=str(out), base_urls=urls, model="sim", prompt_template="plain", num_generations=2,
        max_concurrent=32, max_retries=8, max_tokens=1000, progress=False,
    )  # fmt: skip
    options.update(kw)
    stats = generate(GenerateConfig(**options), rows=[{"problem": f"job {i}", "i": i} for i in range(n_rows)])
    return stats, [json.loads(line) for line in out.read_text().splitlines()]


def check_exactly_once(rows: list[dict], n_rows: int = N_ROWS) -> None:
    assert sorted(r["i"] for r in rows) == list(range(n_rows))
    assert all(len(r["generations"]) == 2 for r in rows)


def test_twenty_percent_mixed_faults_cost_little_and_lose_nothing(tmp_path):
    # The scenario: 400 rows x 2 (~9 simulated seconds). Each faulty run's makespan is
    # set by its unluckiest row (one that fails five or six times waits seconds in backoff, and
    # when that row comes late the run ends with it), so the faulty run is repeated and its median
    # compared: at 120 rows one run in six ended 1.3-1.5x, at 400 rows one in twenty ~1.7x.
    n_rows, repeats = 400, 3
    with EngineProcess(engine_config(mean=150, n_rows=n_rows)) as engine:
        started = time.monotonic()
        stats, rows = run([engine.base_url], tmp_path / "clean.jsonl", n_rows=n_rows)
        clean_wall, clean_sim = time.monotonic() - started, engine.stats()
    check_exactly_once(rows, n_rows)
    walls, makespans = [], []
    for repeat in range(repeats):
        with EngineProcess(engine_config(mean=150, n_rows=n_rows, **MIXED_FAULTS)) as engine:
            started = time.monotonic()
            stats, rows = run([engine.base_url], tmp_path / f"faulty{repeat}.jsonl", n_rows=n_rows)
            walls.append(time.monotonic() - started)
            sim = engine.stats()
        makespans.append(sim["makespan"])
        check_exactly_once(rows, n_rows)
        assert stats.rows_failed == 0
        assert sim["faults"] > 0.12 * 2 * n_rows and stats.retries >= sim["faults"]
        # The window stays full while input remains (the defect: 1.0 of 32).
        assert stats.mean_in_flight_while_input_remains > 0.75 * 32
    # The engine's simulated clock charges every idle moment the client causes (a backoff's sleep
    # too); target 1.35x. The wall clock is only reported: a timed bound fails on a busy machine.
    assert statistics.median(makespans) < 1.35 * clean_sim["makespan"], (
        makespans, clean_sim["makespan"], walls, clean_wall,
    )  # fmt: skip


def test_sigkill_under_faults_then_rerun_writes_every_row_exactly_once(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"problem": f"job {i}", "i": i}) + "\n" for i in range(N_ROWS)))
    out = tmp_path / "out.jsonl"
    with EngineProcess(engine_config(**MIXED_FAULTS)) as engine:
        command = [
            sys.executable, "-m", "r1lab.cli", "generate", "--input", str(source), "--output", str(out),
            "--base-url", engine.base_url, "--model", "sim", "--prompt-template", "plain",
            "--num-generations", "2", "--max-concurrent", "32", "--max-retries", "8", "--no-progress",
        ]  # fmt: skip
        proc = subprocess.Popen(command, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_bytes().count(b"\n") >= 30):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        written = out.read_bytes().count(b"\n")
        assert written < N_ROWS
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    check_exactly_once([json.loads(line) for line in out.read_text().splitlines()])
    stats = json.loads((tmp_path / "out.stats.json").read_text())
    assert stats["rows_skipped"] == written and stats["rows_done"] == N_ROWS - written


def test_load_moves_to_the_healthy_server_and_a_dead_one_is_paused(tmp_path):
    flaky_config = engine_config(fault_500=0.5)
    with EngineProcess(engine_config()) as good, EngineProcess(flaky_config) as flaky:
        stats, rows = run([good.base_url, flaky.base_url], tmp_path / "a.jsonl")
        good_done, flaky_done = good.stats()["finished"], flaky.stats()["finished"]
    check_exactly_once(rows)
    assert good_done + flaky_done == 2 * N_ROWS and flaky_done < 0.5 * good_done
    # One of two servers dies mid-run: its requests are retried on the other, nothing is lost,
    # and the dead one (connections refused) is paused instead of being hammered.
    with EngineProcess(engine_config()) as good:
        dying = EngineProcess(engine_config()).__enter__()
        out = tmp_path / "b.jsonl"

        def kill_when_a_quarter_is_written() -> None:
            while not (out.exists() and out.read_bytes().count(b"\n") >= N_ROWS // 4):
                time.sleep(0.005)
            dying.__exit__()

        killer = threading.Thread(target=kill_when_a_quarter_is_written, daemon=True)
        killer.start()
        try:
            stats, rows = run([good.base_url, dying.base_url], out, backoff_base=0.5)
        finally:
            killer.join(5)
            dying.__exit__()
    check_exactly_once(rows)
    assert stats.rows_failed == 0
    dead = next(e for e in stats.endpoints if e["base_url"] == dying.base_url)
    assert dead["failures"] < 30  # a few refused connections and probes, not one per request
