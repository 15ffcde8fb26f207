"""A real one-node Slurm cluster for the slurm/ scripts, and helpers to submit to it and wait.

The cluster (``cluster.py``) runs munged, slurmctld and slurmd from a temporary directory, installs
the Debian packages when they are missing (as root, with apt), and stops exactly the daemons it
started. Jobs run the repository's own scripts unmodified; only environment variables (which
r1lab to run, the model server, per-task CPUs and memory) are set, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cluster import SlurmCluster, ensure_packages

REPO = Path(__file__).resolve().parents[2]
SLURM_DIR = REPO / "slurm"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    reason = ensure_packages()
    if reason:
        pytest.skip(reason)
    cpus = os.cpu_count() or 2
    cluster = SlurmCluster(root=tmp_path_factory.mktemp("slurm"), cpus=cpus, memory_mb=8000)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm_env(slurm_cluster, tiny_model_dir):
    """The environment a user would export: r1lab from this checkout, transformers serve, small tasks."""
    src = str(REPO / "src")
    return {
        **slurm_cluster.env,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "R1LAB": f"{sys.executable} -m r1lab",
        "PYTHON": sys.executable,
        "MODEL": str(tiny_model_dir),
        "SERVER": "transformers",
        "CACHE_FRACTION": "0.03",  # the tiny model's KV cache needs little; the machine is shared
        "GPUS_PER_TASK": "0",
        "CPUS_PER_TASK": "1",
        "MEM_PER_TASK": "1500M",
        "MERGE_CPUS": "1",
        "MERGE_MEM": "1000M",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
    }


def submit(mode: str, args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """``slurm/submit.sh MODE ARGS``: returns (array job id, merge job id)."""
    result = subprocess.run(
        ["bash", str(SLURM_DIR / "submit.sh"), mode, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ids = dict(line.split() for line in result.stdout.strip().splitlines())
    return ids["array"], ids["merge"]


def job_states(job_id: str, env: dict[str, str]) -> dict[str, str]:
    """{task id or job id: state} for a job or job array, from ``scontrol show job``."""
    result = subprocess.run(
        ["scontrol", "-o", "show", "job", job_id], env=env, capture_output=True, text=True, timeout=30
    )
    states = {}
    for line in result.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        key = fields.get("ArrayTaskId") or fields.get("JobId")
        states[key] = fields.get("JobState", "?")
    return states


DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL"}


def wait_done(job_id: str, env: dict[str, str], timeout: float, cluster: SlurmCluster) -> dict[str, str]:
    """Wait until every task of ``job_id`` has ended; returns their states."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = job_states(job_id, env)
        if states and all(s in DONE for s in states.values()):
            return states
        time.sleep(1)
    raise AssertionError(f"job {job_id} still running after {timeout}s: {states}\n{cluster.logs()}")


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def job_logs(output_dir: Path, tail: int | None = None) -> str:
    """Every job log under OUTPUT_DIR/logs, whole: tests count lines in them, and a requeued task's
    log holds both runs (append mode), so cutting to a tail can drop the first run's lines. Pass
    `tail` for the last characters of each, as a short assertion message."""
    parts = []
    for path in sorted((output_dir / "logs").glob("*")):
        text = path.read_text(errors="replace")
        parts.append(f"--- {path.name}\n{text if tail is None else text[-tail:]}")
    return "\n".join(parts)
