"""slurm/train.slurm on a real Slurm: `accelerate launch` under `srun` runs a few SFT steps of the
tiny model, and a resubmission resumes from the last checkpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import SLURM_DIR, wait_done

pytestmark = pytest.mark.slow


def _sbatch(env, log, *args) -> str:
    result = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "--nodes=1",
            "--cpus-per-task=2",
            "--mem=3000M",
            f"--output={log}",
            str(SLURM_DIR / "train.slurm"),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_train_sft_under_srun_and_resume(slurm_cluster, slurm_env, tiny_model_dir, tmp_path):
    out = tmp_path / "sft"
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": str(tiny_model_dir),
                "output_dir": str(out),
                "dataset": "task:arithmetic",
                "dataset_params": {"num_examples": 64, "digits": 2, "ops": "+", "seed": 0},
                "prompt_template": "plain",
                "per_device_train_batch_size": 4,
                "max_length": 64,
                "max_steps": 2,
                "save_strategy": "steps",
                "save_steps": 1,
                "logging_steps": 1,
                "report_to": "none",
                "seed": 0,
            }
        )
    )
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    env = {
        **slurm_env,
        "R1LAB_PYTHON": sys.executable,
        "ACCELERATE": accelerate,
        "ACCELERATE_CONFIG": "",
        "GPUS_PER_NODE": "0",
        "MAIN_PORT": "29517",
    }
    log = tmp_path / "train-1.out"
    job = _sbatch(env, log, "sft", str(recipe))
    state = wait_done(job, env, timeout=240, cluster=slurm_cluster)[job]
    text = log.read_text()
    assert state == "COMPLETED", text[-4000:]
    assert "1 nodes x 1 processes" in text and "[srun step 0] node rank 0" in text  # accelerate under srun
    assert (out / "checkpoint-2").is_dir() and (out / "model.safetensors").exists()
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 2

    # Resubmission (as after a preemption) with more steps resumes from checkpoint-2.
    log2 = tmp_path / "train-2.out"
    job2 = _sbatch(env, log2, "sft", str(recipe), "--max_steps", "3")
    state = wait_done(job2, env, timeout=240, cluster=slurm_cluster)[job2]
    text = log2.read_text()
    assert state == "COMPLETED", text[-4000:]
    assert "resuming from" in text and "checkpoint-2" in text
    trainer_state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert trainer_state["global_step"] == 3
