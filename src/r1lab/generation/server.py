"""Starting a local OpenAI-compatible server: ``transformers serve`` on a model directory.

The embedded default for people without a vLLM cluster (and for the tests and the CPU demo): the
model is served on 127.0.0.1 with continuous batching, and the context manager waits until
``/health`` answers before yielding, and stops the process afterwards. The child is tied to this
process (Linux ``PR_SET_PDEATHSIG``), so a killed client never leaves a server behind.

Every server starts through r1lab's entry module ``r1lab.generation.serve_cpu``, which makes each
request's temperature / top_p / top_k apply with continuous batching on or off (transformers 5.25
otherwise samples at the model config's values), and before a run gets it, a few-second probe
checks that it does (``r1lab.generation.probe``, docs/generation.md).

Continuous batching sizes its paged KV cache from free memory, and on a CPU transformers takes 60%
of the free RAM, whatever the model: a 0.8M-parameter model's server grew to 14 GB on its first
requests here, and a second server (or a trainer) on the same machine was then killed by the
kernel's OOM killer. Without a GPU r1lab caps the cache at ``CPU_CACHE_MEMORY_FRACTION``.

How many requests to keep in flight depends on the server, so a run that leaves ``max_concurrent``
unset gets it from here (``server_defaults``). On a CPU that entry module also registers
r1lab's attention (``cpu_attention``) batches the decoding requests
per request instead of transformers' SDPA over a block-diagonal mask of *all* requests' keys; with
it, served throughput grows with the window like offline batching (SmolLM2-135M, 2 cores: 46 / 61 /
70 tok/s at 8 / 16 / 32 in flight against 79 for offline ``generate`` at batch 32; with
transformers' own SDPA 40-43 whatever the window; bench/serving.py, docs/real-model.md). A CPU
server started here therefore gets ``CPU_CONCURRENCY``; a server r1lab did not start (vLLM, SGLang,
a remote API) gets ``REMOTE_CONCURRENCY``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1lab.errors import ConfigError, R1labError

logger = logging.getLogger(__name__)

#: Requests in flight for servers r1lab did not start (vLLM/SGLang on GPUs, remote APIs).
REMOTE_CONCURRENCY = 64
#: Requests in flight for a CPU ``transformers serve --continuous-batching`` started by r1lab: 88% of
#: offline batch-32 throughput here at 32, 78% at 16 (bench/serving.py).
CPU_CONCURRENCY = 32
#: Tokens per forward pass of a CPU continuous-batching server (transformers' default: 8192). Smaller
#: batches (prompts prefilled in chunks beside the running decodes) measured 1.8x faster for 16
#: requests to SmolLM2-135M here (bench/serving.py, docs/real-model.md).
CPU_MAX_BATCH_TOKENS = 256
#: Without continuous batching ``transformers serve`` generates one request at a time anyway.
SERIAL_CONCURRENCY = 1


@dataclass
class LocalServer:
    """A running local server: where to send requests, the model name to put in them, and how hard to push it.

    ``recommended_concurrency`` is the number of requests in flight that keeps this server busy
    without slowing every request down (used when a run leaves ``max_concurrent`` unset).
    """

    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path
    recommended_concurrency: int = REMOTE_CONCURRENCY
    continuous_batching: bool = True
    cpu_attention: bool = False

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/v1")]

    def engine_info(self) -> dict[str, str]:
        """What serves this run, for the run record: kind, mode and the engine's version.

        The server runs under this process's Python, so its transformers is the one installed here.
        """
        if not self.continuous_batching:
            mode = "one request at a time"
        elif self.cpu_attention:
            mode = "continuous batching, r1lab CPU attention"
        else:
            mode = "continuous batching, transformers attention"
        return {"kind": "transformers serve", "mode": mode, "version": _installed_version("transformers")}


def _installed_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def probe_engine_info(base_url: str, timeout: float = 5.0) -> dict[str, str]:
    """Kind and version of a server r1lab did not start, best effort (never raises).

    vLLM answers ``GET /version`` (beside ``/v1``) with ``{"version": ...}``; anything else is
    recorded as ``{"kind": "external", "version": "unknown"}``.
    """
    import json

    root = base_url.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    try:
        with urllib.request.urlopen(root + "/version", timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8", errors="replace"))
        if isinstance(body, dict) and body.get("version"):
            return {"kind": "vllm", "version": str(body["version"])}
    except (urllib.error.URLError, OSError, ValueError):
        pass
    return {"kind": "external", "version": "unknown"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


#: Share of free memory the KV cache of a CPU server may take (transformers' own CPU default: 0.6).
CPU_CACHE_MEMORY_FRACTION = 0.2


def default_cache_memory_fraction() -> float | None:
    """r1lab's cap on a CPU, None (transformers' default) where a GPU holds the cache."""
    import torch

    return None if torch.cuda.is_available() else CPU_CACHE_MEMORY_FRACTION


def pick_concurrency(continuous_batching: bool, on_gpu: bool) -> int:
    """Requests in flight that keep a local ``transformers serve`` efficient (see the module docstring)."""
    if not continuous_batching:
        return SERIAL_CONCURRENCY
    return REMOTE_CONCURRENCY if on_gpu else CPU_CONCURRENCY


def server_defaults(config, server: LocalServer | None = None) -> dict[str, Any]:
    """What a run's ``RequestOptions`` left to the server, resolved: ``max_concurrent`` and ``stream``.

    With ``server`` (a model served for the run) ``max_concurrent`` defaults to its
    ``recommended_concurrency`` and responses stream, so the progress bar counts tokens as they are
    generated (a CPU server takes minutes per row). Without one, ``max_concurrent`` defaults to
    ``REMOTE_CONCURRENCY`` and responses come whole. Values the user gave are returned unchanged;
    the caller derives its run's config from them (``dataclasses.replace``), never edits one.
    """
    max_concurrent = config.max_concurrent
    if max_concurrent is None:
        max_concurrent = server.recommended_concurrency if server else REMOTE_CONCURRENCY
        logger.info("max_concurrent: %d requests in flight (picked for this server)", max_concurrent)
    stream = config.stream if config.stream is not None else server is not None
    return {"max_concurrent": max_concurrent, "stream": stream}


def serve_command(
    model_dir: str,
    port: int,
    continuous_batching: bool = True,
    cache_memory_fraction: float | None = None,
    cb_options: dict[str, int] | None = None,
    cpu_attention: bool = False,
) -> list[str]:
    """The ``transformers serve`` command line for a local model on loopback, through r1lab's entry module.

    Every server starts as ``python -m r1lab.generation.serve_cpu serve ...`` (the same command line
    as ``transformers serve``), which makes each request's sampling settings apply in every mode
    (see that module). ``cache_memory_fraction`` caps the continuous-batching KV cache at that share
    of free memory; ``cb_options`` adds ``--cb-<name> <value>`` flags (e.g. ``{"max_batch_tokens":
    512}``); ``cpu_attention`` adds r1lab's batched per-request attention for continuous batching on
    a CPU (``r1lab.generation.cpu_attention``).
    """
    base = [sys.executable, "-m", "r1lab.generation.serve_cpu"]
    if cpu_attention and continuous_batching:
        base.append("--r1lab-cpu-attention")
    command = [
        *base,
        "serve",
        model_dir,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    command.append("--continuous-batching" if continuous_batching else "--no-continuous-batching")
    if continuous_batching and cache_memory_fraction is not None:
        command += ["--cb-max-memory-percent", f"{cache_memory_fraction:g}"]
    if continuous_batching:
        for name, value in (cb_options or {}).items():
            command += [f"--cb-{name.replace('_', '-')}", str(value)]
    return command


def _healthy(root_url: str) -> bool:
    try:
        with urllib.request.urlopen(root_url + "/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def serve_model(
    model_dir: str | os.PathLike,
    port: int | None = None,
    continuous_batching: bool = True,
    startup_timeout: float = 300.0,
    cache_memory_fraction: float | None = None,
    cb_options: dict[str, int] | None = None,
    cpu_attention: bool = True,
    check_sampling: bool = True,
) -> Iterator[LocalServer]:
    """Serve a local model with ``transformers serve`` for the duration of a ``with`` block.

    ``model_dir`` is a model directory or a ``.gguf`` file (imported once into r1lab's cache, see
    ``r1lab.models.gguf.resolve_model``). Yields a ``LocalServer`` whose ``base_url`` ends in
    ``/v1`` and whose ``model`` is the name the server expects in requests (the model's absolute
    path). ``cache_memory_fraction``: the share of free memory the KV cache may take (default:
    ``CPU_CACHE_MEMORY_FRACTION`` without a GPU, transformers' own choice with one).
    ``cb_options``: further ``--cb-*`` settings of transformers' continuous batching.
    ``cpu_attention``: without a GPU, serve through ``r1lab.generation.serve_cpu`` (batched
    per-request attention for continuous batching, 1.7x the tokens/s of transformers' SDPA at 32 in flight;
    ``False`` keeps transformers' own attention).
    ``check_sampling``: once healthy, check that the server applies each request's sampling
    settings (``r1lab.generation.probe``, a few seconds); a server that does not is stopped with
    a ``SamplingContractError`` naming the setting it ignored.
    """
    from r1lab.models.gguf import resolve_model

    path = Path(resolve_model(model_dir)).expanduser().resolve()
    if not (path / "config.json").exists():
        raise ConfigError(f"{model_dir}: not a model directory (no config.json)")
    on_gpu = False
    if continuous_batching:  # only the paged cache needs the cap (and the torch import to decide it)
        on_gpu = default_cache_memory_fraction() is None
    if continuous_batching and not on_gpu:
        cb_options = {"max_batch_tokens": CPU_MAX_BATCH_TOKENS, **(cb_options or {})}
    if cache_memory_fraction is None:
        if continuous_batching and not on_gpu:
            cache_memory_fraction = CPU_CACHE_MEMORY_FRACTION
    elif not 0 < cache_memory_fraction <= 1:
        raise ConfigError(f"cache_memory_fraction: must lie in (0, 1], got {cache_memory_fraction}")
    port = port or free_port()
    command = serve_command(
        str(path), port, continuous_batching, cache_memory_fraction, cb_options, cpu_attention and not on_gpu
    )
    process, log_path = launch(command)
    server = LocalServer(
        f"http://127.0.0.1:{port}/v1",
        str(path),
        process,
        log_path,
        pick_concurrency(continuous_batching, on_gpu),
        continuous_batching=continuous_batching,
        cpu_attention=cpu_attention and not on_gpu and continuous_batching,
    )
    try:
        wait_until_healthy(server, startup_timeout, "transformers serve")
        logger.info("serving %s at %s", path, server.base_url)
        if check_sampling:
            from r1lab.generation.probe import check_sampling as probe

            probe(server.base_url, server.model, model_dir=path)
        yield server
    finally:
        stop_process(process)


def launch(command: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
    """Start a server process tied to this one (``PR_SET_PDEATHSIG``), its output in a temporary log.

    ``env``: variables added to this process's environment (``HF_HUB_OFFLINE=1`` unless set).
    Every local engine starts here (``r1lab.generation.engines``), so the lifecycle exists once.
    """
    log_file = tempfile.NamedTemporaryFile(prefix="r1lab-serve-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log_file.name)
    logger.info("starting %s (log: %s)", " ".join(command), log_path)
    full_env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), **(env or {})}
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, env=full_env, preexec_fn=_die_with_parent
    )
    log_file.close()
    return process, log_path


def wait_until_healthy(server: LocalServer, timeout: float, what: str) -> None:
    """Poll ``/health`` until it answers 200; a process that exits or a timeout raises with the log's tail."""
    deadline = time.monotonic() + timeout
    while not _healthy(server.root_url):
        if server.process.poll() is not None:
            raise R1labError(
                f"{what} exited with code {server.process.returncode} before it was ready; "
                f"its log ({server.log_path}) ends with:\n{_tail(server.log_path)}"
            )
        if time.monotonic() > deadline:
            raise R1labError(f"{what} was not healthy after {timeout:.0f}s; log: {server.log_path}")
        time.sleep(0.25)


class ServerExited(R1labError):
    """A server r1lab started for a run exited during it: no retry can help, so the run stops."""


#: Servers r1lab started and is running now, by base URL. A request that cannot connect to one asks
#: ``exited_server_error`` whether its process is gone, and the run stops with the reason at once.
#: Before this, a run whose vLLM engine died retried the dead URL for minutes, said only "cannot
#: connect", and the error that killed the engine stayed in a log file nobody was shown.
_RUNNING: dict[str, LocalServer] = {}


@contextlib.contextmanager
def registered(server: LocalServer) -> Iterator[LocalServer]:
    """Keep ``server`` in the running-servers registry for the duration of a ``with`` block."""
    key = server.base_url.rstrip("/")
    _RUNNING[key] = server
    try:
        yield server
    finally:
        _RUNNING.pop(key, None)


def exited_server_error(base_url: str) -> ServerExited | None:
    """A ServerExited for a registered server at ``base_url`` whose process has exited; else None."""
    server = _RUNNING.get(base_url.rstrip("/"))
    if server is None or server.process.poll() is None:
        return None
    return ServerExited(
        f"the server r1lab started at {server.base_url} exited with code {server.process.returncode} "
        f"during the run: {_last_error(server.log_path)} (log: {server.log_path}). Rows already written "
        "are kept; rerun the same command to resume."
    )


_ERROR_LINE = re.compile(r"\b([A-Za-z_.]*(?:Error|Exception)): (.+)$")


def _last_error(path: Path) -> str:
    """The log's last ``SomethingError: message`` line (a traceback's last word), else its last line."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        match = _ERROR_LINE.search(line)
        if match:
            return f"{match.group(1)}: {match.group(2).strip()}"
    return next((line.strip() for line in reversed(lines) if line.strip()), "an empty log")


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
