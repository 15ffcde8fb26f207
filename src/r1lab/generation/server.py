"""Starting a local OpenAI-compatible server: ``transformers serve`` on a model directory.

The embedded default for people without a vLLM cluster (and for the tests and the CPU demo): the
model is served on 127.0.0.1 with continuous batching, and the context manager waits until
``/health`` answers before yielding, and stops the process afterwards. The child is tied to this
process (Linux ``PR_SET_PDEATHSIG``), so a killed client never leaves a server behind.

Continuous batching sizes its paged KV cache from free memory, and on a CPU transformers takes 60%
of the free RAM, whatever the model: a 0.8M-parameter model's server grew to 14 GB on its first
requests here, and a second server (or a trainer) on the same machine was then killed by the
kernel's OOM killer. Without a GPU r1lab caps the cache at ``CPU_CACHE_MEMORY_FRACTION``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
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

from r1lab.errors import ConfigError, R1labError

logger = logging.getLogger(__name__)


@dataclass
class LocalServer:
    """A running local server: where to send requests and the model name to put in them."""

    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path

    @property
    def root_url(self) -> str:
        return self.base_url[: -len("/v1")]


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


def serve_command(
    model_dir: str, port: int, continuous_batching: bool = True, cache_memory_fraction: float | None = None
) -> list[str]:
    """The ``transformers serve`` command line for a local model on loopback.

    ``cache_memory_fraction`` caps the continuous-batching KV cache at that share of free memory.
    """
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
    base = [exe] if exe else [sys.executable, "-m", "transformers.cli.transformers"]
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
) -> Iterator[LocalServer]:
    """Serve a local model with ``transformers serve`` for the duration of a ``with`` block.

    Yields a ``LocalServer`` whose ``base_url`` ends in ``/v1`` and whose ``model`` is the name the
    server expects in requests (the model's absolute path). ``cache_memory_fraction``: the share of
    free memory the KV cache may take (default: ``CPU_CACHE_MEMORY_FRACTION`` without a GPU,
    transformers' own choice with one).
    """
    path = Path(model_dir).expanduser().resolve()
    if not (path / "config.json").exists():
        raise ConfigError(f"{model_dir}: not a model directory (no config.json)")
    if cache_memory_fraction is None:
        if continuous_batching:  # only the paged cache needs the cap (and the torch import to decide it)
            cache_memory_fraction = default_cache_memory_fraction()
    elif not 0 < cache_memory_fraction <= 1:
        raise ConfigError(f"cache_memory_fraction: must lie in (0, 1], got {cache_memory_fraction}")
    port = port or free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="r1lab-serve-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log_file.name)
    command = serve_command(str(path), port, continuous_batching, cache_memory_fraction)
    logger.info("starting %s (log: %s)", " ".join(command), log_path)
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent
    )
    log_file.close()
    server = LocalServer(f"http://127.0.0.1:{port}/v1", str(path), process, log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(server.root_url):
            if process.poll() is not None:
                raise R1labError(
                    f"transformers serve exited with code {process.returncode} before it was ready; "
                    f"its log ({log_path}) ends with:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise R1labError(
                    f"transformers serve was not healthy after {startup_timeout:.0f}s; log: {log_path}"
                )
            time.sleep(0.25)
        logger.info("serving %s at %s", path, server.base_url)
        yield server
    finally:
        stop_process(process)


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
