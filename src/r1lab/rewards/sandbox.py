"""Run an untrusted Python program with limits: the engine of the code reward.

`run_python(code, stdin, limits)` starts the stdlib-only supervisor (`_sandbox_supervisor.py`, read
its docstring for the layers) in a fresh session, hands it a private temporary directory, and
returns the program's exit status and output. The directory is deleted afterwards; a supervisor
that itself overruns is killed with its session. Safe to call from many threads at once.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)

SUPERVISOR = Path(__file__).with_name("_sandbox_supervisor.py")
#: Sandboxed programs run as a fresh uid from this range (root only); nothing else uses it.
SANDBOX_UID_BASE, SANDBOX_UID_SPAN = 1_900_000_000, 100_000_000
#: Seconds the supervisor may take beyond the program's timeout (start-up and the final sweep).
SUPERVISOR_GRACE_S = 10.0


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run."""

    timeout: float = field(default=5.0, metadata={"help": "wall-clock seconds before the program is killed"})
    cpu_seconds: int | None = field(
        default=None, metadata={"help": "CPU seconds (default: timeout rounded up)"}
    )
    memory_mb: int = field(default=512, metadata={"help": "address-space limit in MiB"})
    max_processes: int = field(default=16, metadata={"help": "processes and threads the program may have"})
    max_file_mb: int = field(
        default=16, metadata={"help": "largest file (stdout included) the program may write"}
    )
    max_output_bytes: int = field(default=1 << 20, metadata={"help": "stdout/stderr bytes read back"})


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    #: How the network was cut off: "netns", "netns-userns" (kernel) or "audit" (Python audit hook).
    network: str
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


def run_python(
    code: str,
    stdin: str = "",
    limits: SandboxLimits | None = None,
    python: str | None = None,
    *,
    audit_hook: bool = True,
) -> SandboxResult:
    """Run ``code`` as ``program.py`` with ``stdin``, inside the sandbox, and return what happened.

    ``audit_hook=False`` leaves out the Python-level layer, so tests can check that the kernel
    layers (network namespace, private uid, rlimits) hold on their own.
    """
    limits = limits or SandboxLimits()
    interpreter = python or sandbox_python()
    start = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="r1lab-sandbox-"))
    uid = _fresh_uid() if os.geteuid() == 0 else None
    try:
        (workdir / "program.py").write_text(code, encoding="utf-8", errors="replace")
        (workdir / "stdin.txt").write_text(stdin, encoding="utf-8", errors="replace")
        for name in ("stdout.txt", "stderr.txt"):
            (workdir / name).touch()
        if uid is not None:
            for path in [workdir, *workdir.iterdir()]:
                os.chown(path, uid, uid)
        config = {
            "workdir": str(workdir),
            "python": interpreter,
            "uid": uid,
            "timeout": limits.timeout,
            "cpu_seconds": limits.cpu_seconds or max(1, int(limits.timeout + 0.999)),
            "memory_bytes": limits.memory_mb * 2**20,
            "max_processes": limits.max_processes,
            "file_bytes": limits.max_file_mb * 2**20,
            "audit_hook": audit_hook,
        }
        report, error = _supervise(config, limits.timeout + SUPERVISOR_GRACE_S, uid)
        stdout = _read_capped(workdir / "stdout.txt", limits.max_output_bytes)
        stderr = _read_capped(workdir / "stderr.txt", limits.max_output_bytes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return SandboxResult(
        returncode=report.get("returncode"),
        stdout=stdout,
        stderr=stderr,
        timed_out=bool(report.get("timed_out")),
        network=report.get("network", "unknown"),
        seconds=time.monotonic() - start,
        error=error,
    )


def _supervise(config: dict, wall_limit: float, uid: int | None) -> tuple[dict, str | None]:
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", str(SUPERVISOR)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    try:
        out, err = process.communicate(json.dumps(config).encode(), timeout=wall_limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if uid is not None:
            _kill_uid(uid)
        return {"timed_out": True}, "supervisor overran its time limit"
    try:
        return json.loads(out.decode() or "{}"), None
    except json.JSONDecodeError:
        return {}, f"supervisor failed: {err.decode(errors='replace')[-500:]}"


def _read_capped(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _fresh_uid() -> int:
    return SANDBOX_UID_BASE + random.SystemRandom().randrange(SANDBOX_UID_SPAN)


def _kill_uid(uid: int) -> None:
    """Last resort after a supervisor overran: kill whatever still runs as the run's private uid."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


@lru_cache(maxsize=1)
def sandbox_python() -> str:
    """The interpreter for sandboxed programs.

    As root the program runs under a fresh uid, which must be able to execute the interpreter:
    ours may live under a private home (pyenv in /root), so fall back to a system Python.
    """
    candidates = [sys.executable, "/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3") or ""]
    if os.geteuid() != 0:
        return sys.executable
    for candidate in candidates:
        if candidate and _usable_by_anyone(candidate):
            return str(Path(candidate).resolve())
    raise ConfigError(
        "code sandbox: running as root, programs run under an unprivileged uid, and no Python interpreter "
        "is executable by other users (tried: " + ", ".join(c for c in candidates if c) + ")"
    )


def _usable_by_anyone(path: str) -> bool:
    real = Path(path).resolve()
    if not real.is_file() or not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)
