"""Sandbox supervisor: runs ONE untrusted Python program under limits, then removes every trace of it.

Started by `r1lab.rewards.sandbox` as ``python -I -S _sandbox_supervisor.py`` with a JSON config on
stdin; prints a JSON result on stdout. Standard library only, run by path (never imported by
r1lab), so it starts fast and depends on nothing the program could tamper with.

Why a separate supervisor process: it makes itself a *child subreaper*, so every process the
program forks (even one that calls ``setsid`` to leave the process group) stays its descendant
and is killed in the final sweep; and it may enter a fresh network namespace without touching
the caller's.

Layers, strongest first:
- network: a new network namespace (only a down loopback) via ``unshare(CLONE_NEWNET)`` as root,
  or ``CLONE_NEWUSER|CLONE_NEWNET`` where unprivileged user namespaces are allowed; otherwise the
  boot audit hook refuses AF_INET/AF_INET6 sockets (reported as network="audit");
- identity (root only): the program runs as a fresh, unused uid, so it can write only to its
  working directory and world-writable places, cannot signal other processes, and RLIMIT_NPROC
  counts only its own processes (as root RLIMIT_NPROC would not apply at all);
- rlimits: CPU seconds, address space, process count, file size, no core files;
- wall clock: on timeout the process group is SIGKILLed, then all descendants are;
- audit hook (defence in depth, Python-level): no writes outside the working directory, no exec
  of other programs, no ctypes.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_CHILD_SUBREAPER = 36

BOOT = r"""
import os, sys
def _r1lab_sandbox(root, block_network):
    root = os.path.realpath(root)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    mutating = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate",
                "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "os.mkfifo", "os.mknod"}
    forbidden = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn",
                 "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "os.startfile"}
    realpath, fsdecode, sep = os.path.realpath, os.fsdecode, os.sep
    def inside(path):
        if isinstance(path, int):
            return True  # an already open descriptor
        try:
            path = realpath(fsdecode(path))
        except Exception:
            return False
        return path == root or path.startswith(root + sep)
    def hook(event, args):
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & write_flags)
            if writing and path is not None and not inside(path):
                raise PermissionError("sandbox: writing outside the working directory is not allowed")
        elif event in mutating:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not inside(path):
                    raise PermissionError("sandbox: changing files outside the working directory is not allowed")
        elif event in forbidden:
            raise PermissionError("sandbox: " + event + " is not allowed")
        elif event == "import" and args[0] in ("ctypes", "_ctypes"):
            raise ImportError("sandbox: ctypes is not allowed")
        elif block_network and event == "socket.__new__" and args[1] in (2, 10):  # AF_INET, AF_INET6
            raise PermissionError("sandbox: network access is not allowed")
    sys.addaudithook(hook)
if sys.argv[3] == "1":
    _r1lab_sandbox(os.getcwd(), sys.argv[2] == "1")
del _r1lab_sandbox
import runpy
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _enter_network_namespace(libc) -> str:
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "netns-userns"
    return "audit"


def _uid_process_count(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _run_child(config: dict) -> None:
    """In the forked child: limits, identity, then exec the sandboxed interpreter. Never returns."""
    try:
        os.setpgid(0, 0)
        work = config["workdir"]
        stdin = os.open(os.path.join(work, "stdin.txt"), os.O_RDONLY)
        stdout = os.open(os.path.join(work, "stdout.txt"), os.O_WRONLY | os.O_TRUNC)
        stderr = os.open(os.path.join(work, "stderr.txt"), os.O_WRONLY | os.O_TRUNC)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        uid = config["uid"]
        processes = config["max_processes"]
        if uid is None:  # without our own uid the count includes the user's other processes
            processes += _uid_process_count(os.getuid())
        cpu = config["cpu_seconds"]
        limits = {
            resource.RLIMIT_CPU: (cpu, cpu + 1),
            resource.RLIMIT_AS: (config["memory_bytes"],) * 2,
            resource.RLIMIT_NPROC: (processes, processes),
            resource.RLIMIT_FSIZE: (config["file_bytes"],) * 2,
            resource.RLIMIT_CORE: (0, 0),
            resource.RLIMIT_NOFILE: (256, 256),
        }
        for kind, value in limits.items():
            resource.setrlimit(kind, value)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(work)
        os.umask(0o077)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": work,
            "TMPDIR": work,
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
        }
        python = config["python"]
        block = "1" if config["network"] == "audit" else "0"
        hook = "1" if config.get("audit_hook", True) else "0"
        os.execve(python, [python, "-I", "-S", "-B", "-c", BOOT, "program.py", block, hook], env)
    except BaseException:
        pass
    os._exit(126)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, []):
            found.append(child)
            frontier.append(child)
    return found


def _sweep(uid) -> int:
    """SIGKILL and reap every descendant (and, with our own uid, every process of that uid)."""
    killed = 0
    me = os.getpid()
    for _ in range(200):
        pids = set(_descendants(me))
        if uid is not None:
            pids.update(int(e) for e in os.listdir("/proc") if e.isdigit() and _owned_by(int(e), uid))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = -1
            if pid <= 0:
                break
        if not pids and not _descendants(me):
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return killed
        time.sleep(0.01)
    return killed


def _owned_by(pid: int, uid: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}").st_uid == uid
    except OSError:
        return False


def main() -> int:
    config = json.loads(sys.stdin.read())
    libc = _libc()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    config["network"] = _enter_network_namespace(libc)
    start = time.monotonic()
    child = os.fork()
    if child == 0:
        _run_child(config)
    deadline = start + config["timeout"]
    status, timed_out = None, False
    delay = 0.001
    while status is None:
        pid, raw = os.waitpid(child, os.WNOHANG)
        if pid == child:
            status = raw
            break
        if time.monotonic() >= deadline:
            timed_out = True
            with contextlib.suppress(OSError):
                os.killpg(child, signal.SIGKILL)
            _, status = os.waitpid(child, 0)
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    wall = time.monotonic() - start
    killed = _sweep(config["uid"])
    returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    result = {
        "returncode": returncode,
        "timed_out": timed_out,
        "network": config["network"],
        "wall": wall,
        "leftover_killed": killed,
    }
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
