"""How r1lab starts a vLLM server on this machine: its command line, environment, dtype and context.

The settings that measured fastest on 2 cores (docs/real-model.md, /work/shared/notes/engines-on-cpu.md):
OpenMP threads bound to every usable core (vLLM's default leaves one to the scheduler: 145 vs 258
tok/s), tcmalloc and Intel OpenMP preloaded when present, a modest KV cache (the machine is shared
with trainers), small KV blocks for prefix caching and whole prefills (``vllm_command``).
``engines.serve_vllm`` starts the server with them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: GiB of KV cache for vLLM on a CPU: ~45k tokens of SmolLM2-135M in float32, and little enough
#: beside the trainers that share the machine.
VLLM_CPU_KVCACHE_GIB = 2
#: float32 on a CPU: greedy output equals offline HF greedy (bfloat16 drifts; docs/real-model.md).
#: The default for every model but a de-quantized GGUF import: a model trained here in float32 loses
#: most of its training in bfloat16 (~85% of a GRPO change is below bfloat16's rounding, stop 30).
VLLM_CPU_DTYPE = "float32"
#: bfloat16 on a CPU for a de-quantized GGUF import (``r1lab model get``): its 4-bit weights carry no
#: float32 detail to lose, its pass@1 measured equal to float32's by a rule written first (SmolLM2,
#: bench/dtype_accuracy.py stage 2: sums +0.09 [-0.60, +0.79], GSM8K -0.51 [-1.40, +0.37] points), and
#: vLLM-CPU serves it ~1.7x faster (docs/real-model.md).
VLLM_CPU_IMPORT_DTYPE = "bfloat16"
#: KV-cache block size for vLLM on a CPU. vLLM's CPU default is 128 tokens, and prefix caching shares
#: whole blocks only: the smollm2 demo's prompts (~120 tokens, ~100 of them the same system prompt and
#: worked example) then never hit the cache (hit rate 0.0%) and every request re-ran its full prefill.
#: 32 is the smallest size the CPU attention kernels take (a multiple of 32).
VLLM_CPU_BLOCK_SIZE = 32
#: vLLM-CPU's own token budget per step for its OpenAI server (vllm/engine/arg_utils.py).
VLLM_CPU_STEP_TOKENS = 2048
#: Prompt tokens a run's ``max_tokens`` leaves room for when it sets vLLM's ``--max-model-len``.
PROMPT_ROOM = 2048
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def vllm_command(
    python: str,
    model_dir: str,
    port: int,
    dtype: str,
    max_model_len: int | None,
    served_name: str,
    eager: bool = False,
    block_size: int | None = None,
    whole_prefills_up_to: int | None = None,
) -> list[str]:
    """The OpenAI server's command line (``vllm serve`` fails for the ``vllm-cpu`` distribution).

    ``whole_prefills_up_to``: turn chunked prefill off, with a step budget of at least that many
    tokens (vLLM wants the context length then). r1lab does so on a CPU: vllm-cpu 0.32 rewinds the
    random generator of a seeded request whose prefill was split over steps (``gen.set_offset``),
    and CPU generators have no offset. The engine died ("RuntimeError: CPU Generator does not use
    offset") as soon as a run's requests carried a ``seed`` and more prompt tokens arrived at once
    than a step takes (48 GSM8K prompts, n=4); with whole prefills all of them succeeded and the
    same seeds gave the same texts (48 of 48).
    """
    command = [
        python, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
        "--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port), "--dtype", dtype,
        "--uvicorn-log-level", "warning", "--disable-uvicorn-access-log",
    ]  # fmt: skip
    if max_model_len:
        command += ["--max-model-len", str(max_model_len)]
    if eager:
        command.append("--enforce-eager")
    if block_size:
        command += ["--block-size", str(block_size)]
    if whole_prefills_up_to:
        budget = max(VLLM_CPU_STEP_TOKENS, whole_prefills_up_to)
        command += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(budget)]
    return command


def vllm_cpu_env(python: str, kvcache_gib: int = VLLM_CPU_KVCACHE_GIB) -> dict[str, str]:
    """vLLM-CPU's environment: threads on every usable core, the KV cache, the allocator preloads.

    ``VLLM_USE_AOT_COMPILE=0``: vllm-cpu 0.32's AOT compile cache never loads on a CPU ("'function'
    object has no attribute 'finalize_loading'"), so every compiled start recompiled (84-88 s); with
    it off, torch inductor's own cache makes a second compiled start 42 s.
    """
    cores = (
        sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    )
    env = {
        "VLLM_CPU_OMP_THREADS_BIND": ",".join(str(c) for c in cores),
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", str(kvcache_gib)),
        "VLLM_USE_AOT_COMPILE": os.environ.get("VLLM_USE_AOT_COMPILE", "0"),
    }
    preload = [TCMALLOC] if Path(TCMALLOC).exists() else []
    iomp = Path(python).resolve().parent.parent / "lib" / "libiomp5.so"
    if not iomp.exists():  # a symlinked venv python resolves to the base interpreter
        iomp = Path(python).parent.parent / "lib" / "libiomp5.so"
    preload += [str(iomp)] if iomp.exists() else []
    preload += [os.environ["LD_PRELOAD"]] if os.environ.get("LD_PRELOAD") else []
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    return env


def default_dtype(model_dir: Path, on_gpu: bool) -> tuple[str, str]:
    """The dtype vLLM serves ``model_dir`` in when the user names none, and why (for the log)."""
    from r1lab.models.gguf import IMPORT_MARKER

    if on_gpu:
        return "auto", "a GPU: the model's own dtype"
    if (model_dir / IMPORT_MARKER).exists():
        return VLLM_CPU_IMPORT_DTYPE, (
            "a de-quantized GGUF import on a CPU: bfloat16 measured as accurate as float32 and ~1.7x "
            "faster; --dtype float32 for output equal to offline greedy"
        )
    return (
        VLLM_CPU_DTYPE,
        "a CPU: float32 serves output equal to offline greedy and keeps all of a trained model",
    )


def context_length(model_dir: Path, max_tokens: int | None) -> int:
    """The longest sequence the server will take: the run's ``--max-model-len``, else the model's own."""
    return max_model_len_for(model_dir, max_tokens) or _position_limit(model_dir) or VLLM_CPU_STEP_TOKENS


def _position_limit(model_dir: Path) -> int | None:
    try:
        return json.loads((model_dir / "config.json").read_text()).get("max_position_embeddings")
    except (OSError, ValueError):
        return None


def max_model_len_for(model_dir: Path, max_tokens: int | None) -> int | None:
    """The run's context (``max_tokens`` + ``PROMPT_ROOM``), never above the model's own; None: the model's."""
    if max_tokens is None:
        return None
    limit = _position_limit(model_dir)
    wanted = max_tokens + PROMPT_ROOM
    return min(wanted, limit) if limit else wanted
