"""A process pool with a deadline per item, safe to call from any thread.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot stop one task. Sympy can spend
minutes in C code on a hostile answer (``9^{9^{9}}``), and a grader that waits for it stalls a
whole training step. Here each task gets a deadline when it reaches a worker; a worker past it is
killed and replaced, and the task is answered as a timeout.

One dispatcher thread owns every worker connection; callers (any thread: a TRL reward call, an
evaluation loop) only put tasks on a queue and wait on futures, so concurrent callers share the
workers without locks around I/O. Workers are plain subprocesses (see `r1lab.grading.worker`).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Extra time past an item's timeout before its worker is killed: the worker's own timer
#: usually ends the item first, keeping the worker alive.
KILL_GRACE_S = 0.5
DEFAULT_MEMORY_MB = 4096


class TaskTimeout(Exception):
    """The result of a task that ran past its deadline."""


class TaskFailed(Exception):
    """The result of a task whose worker raised or died (message says why)."""


def default_workers() -> int:
    """The CPU cores this process may use (affinity-aware, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(eq=False)
class _Task:
    task_id: int
    op: str
    args: tuple
    timeout: float
    future: Future
    started: float = 0.0
    deadline: float = 0.0


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen
    conn: Connection
    ready: bool = False
    task: _Task | None = None
    started_at: float = field(default_factory=time.monotonic)


class GradingPool:
    """Worker processes that run grading operations with a hard deadline per item.

    ``submit(op, args, timeout)`` returns a Future resolved with the value, or with TaskTimeout /
    TaskFailed. ``latencies`` keeps the seconds each finished task spent on its worker.
    """

    def __init__(self, workers: int | None = None, memory_mb: int = DEFAULT_MEMORY_MB):
        self.size = workers or default_workers()
        self.memory_mb = memory_mb
        self.pid = os.getpid()
        self.latencies: collections.deque[float] = collections.deque(maxlen=100_000)
        self.restarts = 0
        self._ids = itertools.count()
        self._pending: collections.deque[_Task] = collections.deque()
        self._lock = threading.Lock()
        self._closed = False
        self._wake_recv, self._wake_send = _socket_pair()
        self._workers = [self._start_worker() for _ in range(self.size)]
        self._thread = threading.Thread(target=self._run, name="r1lab-grading-pool", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- public API
    def submit(self, op: str, args: tuple, timeout: float) -> Future:
        future: Future = Future()
        task = _Task(next(self._ids), op, args, float(timeout), future)
        with self._lock:
            if self._closed:
                raise RuntimeError("grading pool is closed")
            self._pending.append(task)
        self._wake()
        return future

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    @property
    def closed(self) -> bool:
        return self._closed

    # ----------------------------------------------------------------- workers
    def _start_worker(self) -> _Worker:
        parent_end, child_end = socket.socketpair()
        env = dict(os.environ)
        # The worker imports r1lab from the same place we did, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [sys.executable, "-m", "r1lab.grading.worker", str(child_end.fileno()), str(self.memory_mb)],
            pass_fds=(child_end.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        child_end.close()
        return _Worker(process=process, conn=Connection(parent_end.detach()))

    def _replace(self, worker: _Worker) -> _Worker:
        self.restarts += 1
        _kill(worker)
        fresh = self._start_worker()
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    # ----------------------------------------------------------------- dispatcher
    def _run(self) -> None:
        try:
            while not self._closed:
                self._assign()
                self._wait_and_collect()
                self._expire()
        except Exception:  # never leave callers waiting forever on a dead dispatcher
            logger.exception("grading pool dispatcher failed")
        finally:
            self._shutdown()

    def _assign(self) -> None:
        for worker in self._workers:
            if not worker.ready or worker.task is not None:
                continue
            with self._lock:
                if not self._pending:
                    return
                task = self._pending.popleft()
            if not task.future.set_running_or_notify_cancel():
                continue
            task.started = time.monotonic()
            task.deadline = task.started + task.timeout + KILL_GRACE_S
            worker.task = task
            try:
                worker.conn.send((task.task_id, task.op, task.args, task.timeout))
            except (BrokenPipeError, OSError):
                self._fail(worker, "worker died")

    def _wait_and_collect(self) -> None:
        deadlines = [w.task.deadline for w in self._workers if w.task is not None]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        by_conn = {w.conn: w for w in self._workers}
        for conn in wait([self._wake_recv, *by_conn], timeout=timeout):
            if conn is self._wake_recv:
                _drain(self._wake_recv)
                continue
            worker = by_conn[conn]
            if worker not in self._workers:  # replaced earlier in this round
                continue
            try:
                message = conn.recv()
            except (EOFError, OSError):  # crashed, or exited on purpose after a timeout
                self._fail(worker, f"grading worker exited (code {worker.process.poll()})")
                continue
            self._handle(worker, message)

    def _handle(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            return
        task = worker.task
        worker.task = None
        if task is None or task.task_id != message[1]:
            return
        self.latencies.append(time.monotonic() - task.started)
        if kind == "done":
            task.future.set_result(message[2])
        elif kind == "timeout":
            task.future.set_exception(TaskTimeout(f"{task.op} ran past {task.timeout:g} s"))
        else:
            task.future.set_exception(TaskFailed(message[2]))

    def _expire(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            task = worker.task
            if task is not None and now >= task.deadline:
                self.latencies.append(now - task.started)
                task.future.set_exception(TaskTimeout(f"{task.op} ran past {task.timeout:g} s (killed)"))
                worker.task = None
                self._replace(worker)

    def _fail(self, worker: _Worker, reason: str) -> None:
        task, worker.task = worker.task, None
        if task is not None and not task.future.done():
            task.future.set_exception(TaskFailed(reason))
        if not self._closed:
            self._replace(worker)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # a full buffer already means "wake up"
            self._wake_send.send(b"x")

    def _shutdown(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                worker.conn.send(None)
        end = time.monotonic() + 2.0
        for worker in self._workers:
            try:
                worker.process.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(worker)
            worker.conn.close()
        with self._lock:
            leftover = list(self._pending)
            self._pending.clear()
        for task in leftover + [w.task for w in self._workers if w.task is not None]:
            if not task.future.done():
                task.future.set_exception(TaskFailed("grading pool closed"))


def _socket_pair() -> tuple[socket.socket, socket.socket]:
    receiver, sender = socket.socketpair()
    receiver.setblocking(False)
    sender.setblocking(False)
    return receiver, sender


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, OSError):
        pass


def _kill(worker: _Worker) -> None:
    if worker.process.poll() is None:
        worker.process.kill()
    try:
        worker.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        logger.warning("grading worker %d did not exit after SIGKILL", worker.process.pid)
    worker.conn.close()


_pools: dict[int, GradingPool] = {}
_pools_lock = threading.Lock()


def get_pool(workers: int | None = None) -> GradingPool:
    """The shared pool of this process with ``workers`` workers (default: one per core).

    Pools start lazily, live until exit, and are recreated after a fork (a forked child must
    not share its parent's workers or dispatcher thread).
    """
    size = workers or default_workers()
    with _pools_lock:
        pool = _pools.get(size)
        if pool is None or pool.closed or pool.pid != os.getpid():
            _pools[size] = pool = GradingPool(size)
        return pool


def shutdown_pool() -> None:
    """Stop the shared pools' workers (also runs at interpreter exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        if pool.pid == os.getpid():
            pool.close()


atexit.register(shutdown_pool)


def run_tasks(pool: GradingPool, op: str, arg_list: list[tuple], timeout: float) -> list[Any]:
    """Run many tasks and return, in order, each value or the TaskTimeout/TaskFailed it ended with."""
    futures = [pool.submit(op, args, timeout) for args in arg_list]
    results: list[Any] = []
    for future in futures:
        try:
            results.append(future.result())
        except (TaskTimeout, TaskFailed) as exc:
            results.append(exc)
    return results
