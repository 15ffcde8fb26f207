"""slurm/submit.sh evaluate on a real Slurm: a 3-task array, merged into one results directory and
leaderboard, scores exactly what a single-process `r1lab evaluate` scores on the same generations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from r1lab.generation.inputs import shard_of

from .conftest import job_logs, read_rows, submit, wait_done

pytestmark = pytest.mark.slow

NUM_PROBLEMS = 9


def test_evaluate_array_matches_single_process(slurm_cluster, slurm_env, tmp_path):
    problems = [
        {"id": f"e{i}", "problem": f"What is {i} times 1?", "answer": str(i)} for i in range(NUM_PROBLEMS)
    ]
    assert {shard_of(p["id"], 3) for p in problems} == {0, 1, 2}  # every task has work
    bench = tmp_path / "tinybench.jsonl"
    bench.write_text("".join(json.dumps(p) + "\n" for p in problems))
    out = tmp_path / "eval"
    env = {**slurm_env, "NUM_SHARDS": "3", "OUTPUT_DIR": str(out)}
    args = ["--benchmark", str(bench), "--num-samples", "2", "--max-tokens", "16", "--grade-workers", "0"]
    array, merge = submit("evaluate", args, env)
    wait_done(array, env, timeout=240, cluster=slurm_cluster)
    states = wait_done(merge, env, timeout=180, cluster=slurm_cluster)
    assert states[merge] == "COMPLETED", job_logs(out, tail=3000)

    merged = json.loads((out / "tinybench" / "results.json").read_text())
    assert merged["num_problems"] == NUM_PROBLEMS and merged["num_missing"] == 0
    assert merged["num_samples"] == 2
    board = (out / "leaderboard.md").read_text()
    assert "tinybench" in board and (out / "leaderboard.html").exists()

    # Each shard scored only its own problems; together they are the whole benchmark.
    shard_results = [
        json.loads((out / "shards" / f"shard-{i}" / "tinybench" / "results.json").read_text())
        for i in range(3)
    ]
    assert sum(r["num_problems"] for r in shard_results) == NUM_PROBLEMS
    weighted = sum(r["metrics"]["pass@1"] * r["num_problems"] for r in shard_results) / NUM_PROBLEMS
    assert merged["metrics"]["pass@1"] == pytest.approx(weighted)

    # A single-process evaluation of the same generations (no server needed: all are there).
    single = tmp_path / "single"
    (single / "tinybench").mkdir(parents=True)
    shutil.copy(out / "tinybench" / "generations.jsonl", single / "tinybench" / "generations.jsonl")
    model = merged["model"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "r1lab",
            "evaluate",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            model,
            "--output-dir",
            str(single),
            "--no-progress",
            *args,
        ],
        env=slurm_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    alone = json.loads((single / "tinybench" / "results.json").read_text())
    assert alone["metrics"]["pass@1"] == merged["metrics"]["pass@1"]
    assert alone["metrics"] == merged["metrics"]
    by_id = {d["id"]: d["correct"] for d in read_rows(single / "tinybench" / "details.jsonl")}
    assert by_id == {d["id"]: d["correct"] for d in read_rows(out / "tinybench" / "details.jsonl")}
    assert len(by_id) == NUM_PROBLEMS
