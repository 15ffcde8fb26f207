"""A real one-node Slurm cluster (munged + slurmctld + slurmd) in a temporary directory.

Debian's ``slurmctld``, ``slurmd``, ``slurm-client`` and ``munge`` packages are installed with apt
when missing (CI runs as root on a fresh machine). Every daemon runs in the foreground as a child of
this process, with its own key, socket, ports, spool and state directories, so nothing in /etc or
/run is touched, and ``stop()`` ends exactly the processes ``start()`` started, by PID.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("slurmctld", "slurmd", "sbatch", "munged")


def sbin(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).exists()), None
    )


def ensure_packages() -> str | None:
    """Install the Slurm packages when missing; returns why Slurm cannot run here, or None."""
    if all(sbin(b) for b in BINARIES):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "Slurm is not installed and this is not root on a Debian-like system"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr[-2000:]}"
    return None if all(sbin(b) for b in BINARIES) else "the Slurm packages installed no daemons"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SlurmCluster:
    root: Path
    cpus: int
    memory_mb: int
    node: str = "r1node"
    partition: str = "debug"
    kill_wait: int = 5
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self) -> SlurmCluster:
        for sub in ("state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        munge_socket = self.root / "munge" / "munge.socket"
        self._spawn(
            [
                sbin("munged"),
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge_socket}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
            "munged",
        )
        self._wait(lambda: munge_socket.exists(), "munged socket", 20)
        ctld_port, d_port = _free_port(), _free_port()
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=r1lab-test",
                    "SlurmctldHost=localhost(127.0.0.1)",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    f"SlurmctldPort={ctld_port}",
                    f"SlurmdPort={d_port}",
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={munge_socket}",
                    "CredType=cred/munge",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "SchedulerParameters=sched_interval=1",
                    "SchedulerType=sched/backfill",
                    "JobRequeue=1",
                    f"KillWait={self.kill_wait}",
                    "MinJobAge=300",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=30",
                    "InactiveLimit=0",
                    f"NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname=localhost "
                    f"CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN",
                    # Jobs may share cores: the array tasks mostly wait (on model loading, on requests),
                    # and a 2-core machine would otherwise run them one or two at a time.
                    f"PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE "
                    "OverSubscribe=FORCE:4 State=UP",
                    "",
                ]
            )
        )
        self._spawn([sbin("slurmctld"), "-D", "-i", "-f", str(self.conf)], "slurmctld")
        self._wait(lambda: self._run(["scontrol", "ping"]).returncode == 0, "slurmctld", 30)
        self._spawn([sbin("slurmd"), "-D", "-f", str(self.conf), "-N", self.node], "slurmd")
        self._wait(self._node_ready, "slurmd to register its node", 60)
        return self

    def _node_ready(self) -> bool:
        out = self._run(["sinfo", "-h", "-N", "-o", "%t"]).stdout.strip()
        return out.startswith(("idle", "mix", "alloc"))

    def _spawn(self, command: list, name: str) -> None:
        log = (self.root / "log" / f"{name}.out").open("wb")
        process = subprocess.Popen(
            [str(c) for c in command],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)

    def _wait(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited ({process.returncode}); {self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}; {self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def _run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, **kwargs)

    def stop(self) -> None:
        """Cancel this cluster's jobs (so no job step outlives it), then stop the daemons this
        cluster started, by PID, newest first: SIGTERM, then SIGKILL."""
        if self.processes and all(p.poll() is None for p in self.processes):
            with contextlib.suppress(Exception):
                self._run(["scancel", "--full", "--user", str(os.geteuid())])
                deadline = time.monotonic() + self.kill_wait + 10
                while self._run(["squeue", "-h"]).stdout.strip() and time.monotonic() < deadline:
                    time.sleep(0.5)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
