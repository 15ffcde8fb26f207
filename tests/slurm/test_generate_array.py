"""slurm/submit.sh generate on a real Slurm: a 3-task array of transformers servers, one task
cancelled and resubmitted, one requeuing itself on USR1, and the dependent merge: every input row exactly once, no
finished row redone."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from .conftest import job_logs, job_states, read_rows, submit, wait_done

pytestmark = pytest.mark.slow

NUM_ROWS = 24


def _write_input(path):
    rows = [
        {"id": f"q{i:02d}", "problem": f"Compute {i} + {i + 1}.", "answer": str(2 * i + 1)}
        for i in range(NUM_ROWS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [r["id"] for r in rows]


def _wait_rows(path, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_bytes().splitlines()) >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"{path} never reached {count} rows")


def test_generate_array_cancel_resubmit_merge(slurm_cluster, slurm_env, tmp_path):
    ids = _write_input(tmp_path / "input.jsonl")
    out = tmp_path / "run"
    env = {**slurm_env, "NUM_SHARDS": "3", "OUTPUT_DIR": str(out)}
    args = ["--input", str(tmp_path / "input.jsonl"), "--max-tokens", "48", "--max-concurrent", "1"]
    array, merge = submit("generate", args, env)

    # Cancel task 1 once it has written some rows: Slurm sends SIGTERM, then SIGKILL after KillWait.
    shard1, shard2 = out / "shards" / "shard-1.jsonl", out / "shards" / "shard-2.jsonl"
    _wait_rows(shard1, 2, timeout=120)
    subprocess.run(["scancel", f"{array}_1"], env=env, check=True, timeout=30)
    # Task 2 gets USR1 mid-run, as `--signal=B:USR1@300` sends it before a time limit: its trap
    # requeues it, Slurm kills it and starts it again (now, not after the usual requeue delay), and
    # the rerun resumes the shard.
    _wait_rows(shard2, 2, timeout=120)
    subprocess.run(["scancel", "--batch", "--signal=USR1", f"{array}_2"], env=env, check=True, timeout=30)
    deadline = time.monotonic() + 60
    while job_states(array, env).get("2") != "PENDING" and time.monotonic() < deadline:
        time.sleep(0.5)
    subprocess.run(["scontrol", "update", f"JobId={array}_2", "StartTime=now"], env=env, timeout=30)

    # The merge depended on every task succeeding: it is dropped, not run on a partial shard.
    assert wait_done(merge, env, timeout=60, cluster=slurm_cluster)[merge] == "CANCELLED"
    assert not (out / "generations.jsonl").exists()
    deadline = time.monotonic() + 60
    while job_states(array, env).get("1") != "CANCELLED" and time.monotonic() < deadline:
        time.sleep(0.5)
    before = shard1.read_bytes()
    kept = before.splitlines()
    # Resubmit only the cancelled task (and a new merge), while task 2 is still rerunning.
    array2, merge2 = submit("generate", args, {**env, "ARRAY": "1"})

    states = wait_done(array, env, timeout=180, cluster=slurm_cluster)
    logs = job_logs(out)
    assert states["1"] == "CANCELLED", (states, job_logs(out, tail=3000))
    assert states["0"] == states["2"] == "COMPLETED", (states, job_logs(out, tail=3000))
    assert "SIGTERM" in logs  # the task's trap and r1lab both saw the signal
    assert f"USR1: requeueing this task ({array}_2)" in logs
    # Tasks 1 and 2 stopped on SIGTERM, task 0 ran undisturbed (each task's log, whole: a requeued
    # task appends its rerun, which can push the first run's lines out of any tail).
    for task, stopped in (("0", False), ("1", True), ("2", True)):
        task_log = (out / "logs" / f"r1lab-generate-{array}_{task}.out").read_text(errors="replace")
        assert ("SIGTERM: stopping" in task_log) == stopped, (task, task_log)
    assert "shard 2 of 3 on" in logs and "(restart count 1)" in logs  # task 2 ran again
    shard2_stats = json.loads((out / "shards" / "shard-2.stats.json").read_text())
    assert shard2_stats["rows_skipped"] >= 2  # the requeued run kept what the first one wrote
    assert shard2_stats["rows_done"] + shard2_stats["rows_skipped"] == shard2_stats["rows_total"]

    wait_done(array2, env, timeout=180, cluster=slurm_cluster)
    states = wait_done(merge2, env, timeout=120, cluster=slurm_cluster)
    assert states[merge2] == "COMPLETED", job_logs(out, tail=3000)
    assert 2 <= len(kept) < len(read_rows(shard1)), "task 1 was not cancelled mid-run"
    after = shard1.read_bytes()
    assert after.startswith(before.rstrip(b"\n").rsplit(b"\n", 1)[0]), "finished rows were rewritten"

    merged = read_rows(out / "generations.jsonl")
    assert sorted(r["id"] for r in merged) == sorted(ids)  # every row, exactly once
    assert all(r["generations"] and isinstance(r["generations"][0], str) for r in merged)
    shard_ids = [r["id"] for i in range(3) for r in read_rows(out / "shards" / f"shard-{i}.jsonl")]
    assert len(shard_ids) == len(set(shard_ids)) == NUM_ROWS
    stats = json.loads((out / "generations.stats.json").read_text())
    assert stats["shards"] == 3 and stats["rows"] == NUM_ROWS
    # Stats describe each shard's last run: the resubmitted task skipped what the cancelled one wrote.
    assert stats["rows_total"] == NUM_ROWS
    shard1_stats = json.loads((out / "shards" / "shard-1.stats.json").read_text())
    assert shard1_stats["rows_skipped"] == len(kept) - (not before.endswith(b"\n"))
    assert shard1_stats["rows_done"] == shard1_stats["rows_total"] - shard1_stats["rows_skipped"]
    manifest = json.loads((out / "generations.manifest.json").read_text())
    assert manifest["merged_num_shards"] == 3 and len(manifest["merged_from"]) == 3
