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

from r1lab.errors import R1labError

logger = logging.getLogger(__name__)

#: Extra time past an item's timeout before its worker is killed: the worker's own timer
#: usually ends the item first, keeping the worker alive.
KILL_GRACE_S = 0.5
#: Tasks queued on each worker ahead of time, so a worker never idles waiting for the dispatcher
#: (on loaded cores that round trip costs more than a typical item). Each item's deadline still
#: starts only when the one before it on that worker finished.
PIPELINE_DEPTH = 16
MAX_START_FAILURES = 3
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
    claimed: bool = False


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen
    conn: Connection
    ready: bool = False
    #: Tasks sent and not yet answered, oldest first; only the first is running.
    inflight: collections.deque[_Task] = field(default_factory=collections.deque)


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
        #: Set when workers cannot start at all; the pool is then closed and callers get an error.
        self.start_error: str | None = None
        self._start_failures = 0
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
        return self.submit_many(op, [args], timeout)[0]

    def submit_many(self, op: str, arg_list: list[tuple], timeout: float) -> list[Future]:
        """Queue one task per argument tuple (one wake-up for all of them)."""
        tasks = [_Task(next(self._ids), op, args, float(timeout), Future()) for args in arg_list]
        with self._lock:
            if self._closed:
                raise RuntimeError("grading pool is closed")
            self._pending.extend(tasks)
        self._wake()
        return [task.future for task in tasks]

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
            if self.start_error:
                logger.error("%s", self.start_error)
            else:
                logger.exception("grading pool dispatcher failed")
        finally:
            with self._lock:
                self._closed = True  # get_pool() then starts a fresh pool
            self._shutdown()

    def _assign(self) -> None:
        """Hand out queued tasks round-robin, up to PIPELINE_DEPTH per ready worker."""
        for _ in range(PIPELINE_DEPTH):
            for worker in list(self._workers):
                if not worker.ready or len(worker.inflight) >= PIPELINE_DEPTH:
                    continue
                task = self._next_task()
                if task is None:
                    return
                worker.inflight.append(task)
                if len(worker.inflight) == 1:
                    _start_clock(task)
                try:
                    worker.conn.send((task.task_id, task.op, task.args, task.timeout))
                except (BrokenPipeError, OSError):
                    self._fail(worker, "grading worker died")

    def _next_task(self) -> _Task | None:
        while True:
            with self._lock:
                if not self._pending:
                    return None
                task = self._pending.popleft()
            # A requeued task is already running; a new one may have been cancelled by its caller.
            if task.claimed or task.future.set_running_or_notify_cancel():
                task.claimed = True
                return task

    def _wait_and_collect(self) -> None:
        deadlines = [w.inflight[0].deadline for w in self._workers if w.inflight]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        by_conn = {w.conn: w for w in self._workers}
        for conn in wait([self._wake_recv, *by_conn], timeout=timeout):
            if conn is self._wake_recv:
                _drain(self._wake_recv)
                continue
            worker = by_conn[conn]
            if worker not in self._workers:  # replaced earlier in this round
                continue
            while True:  # every message already waiting, not just one per wake-up
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    self._fail(worker, f"grading worker exited (code {worker.process.poll()})")
                    break
                if not self._handle(worker, message) or not conn.poll():
                    break

    def _handle(self, worker: _Worker, message: tuple) -> bool:
        """Act on one message; False when the worker is gone (replaced)."""
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            return True
        if kind == "retire":  # it timed out and found itself unhealthy: nothing queued has started
            self._requeue(worker.inflight)
            worker.inflight.clear()
            self._replace(worker)
            return False
        if not worker.inflight or worker.inflight[0].task_id != message[1]:
            return True
        task = worker.inflight.popleft()
        now = time.monotonic()
        self.latencies.append(now - task.started)
        if kind == "done":
            task.future.set_result(message[2])
        elif kind == "timeout":
            task.future.set_exception(TaskTimeout(f"{task.op} ran past {task.timeout:g} s"))
        else:
            task.future.set_exception(TaskFailed(message[2]))
        if worker.inflight:
            _start_clock(worker.inflight[0], now)
        return True

    def _expire(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.inflight and now >= worker.inflight[0].deadline:
                task = worker.inflight.popleft()
                self.latencies.append(now - task.started)
                task.future.set_exception(TaskTimeout(f"{task.op} ran past {task.timeout:g} s (killed)"))
                self._requeue(worker.inflight)
                worker.inflight.clear()
                self._replace(worker)

    def _fail(self, worker: _Worker, reason: str) -> None:
        """A worker died: its running task fails, the ones queued behind it go back to the queue."""
        if not worker.ready:  # died before it could take work: a broken environment, not an item
            self._start_failures += 1
            if self._start_failures >= MAX_START_FAILURES:
                self.start_error = (
                    f"grading workers exit before they are ready ({MAX_START_FAILURES} in a row; last exit "
                    f"code {worker.process.poll()}); their error output is above"
                )
                raise RuntimeError(self.start_error)
        else:
            self._start_failures = 0
        if worker.inflight:
            task = worker.inflight.popleft()
            if not task.future.done():
                task.future.set_exception(TaskFailed(reason))
            self._requeue(worker.inflight)
            worker.inflight.clear()
        if not self._closed:
            self._replace(worker)

    def _requeue(self, tasks) -> None:
        with self._lock:
            self._pending.extendleft(reversed(list(tasks)))

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
        for task in leftover + [t for w in self._workers for t in w.inflight]:
            if not task.future.done():
                task.future.set_exception(TaskFailed("grading pool closed"))


def _start_clock(task: _Task, now: float | None = None) -> None:
    task.started = time.monotonic() if now is None else now
    task.deadline = task.started + task.timeout + KILL_GRACE_S


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
    futures = pool.submit_many(op, arg_list, timeout)
    results: list[Any] = []
    for future in futures:
        try:
            results.append(future.result())
        except (TaskTimeout, TaskFailed) as exc:
            results.append(exc)
    if pool.start_error:  # never report a broken installation as a batch of wrong answers
        raise R1labError(pool.start_error)
    return results
