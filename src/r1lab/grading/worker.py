"""A grading worker process: ``python -m r1lab.grading.worker FD MEMORY_MB``.

It is started with ``subprocess`` (fork+exec), never ``multiprocessing`` fork, so it is safe to
start from a threaded parent (TRL, torch) and does not re-import the user's ``__main__``. It talks
to its pool over one socket with ``multiprocessing.connection`` messages:

- to the pool: ``("ready",)`` once math-verify is imported, then ``("done", task_id, value)`` or
  ``("timeout", task_id)`` or ``("error", task_id, message)`` per task;
- from the pool: ``(task_id, op, args, timeout)``, or None to exit.

A soft interval timer ends most slow items here (the worker survives); the pool kills the process
for the rest (sympy stuck in C code), so an item never outlives its deadline.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time


def _exit_with_parent(parent_pid: int) -> None:
    """Exit when the pool's process is gone, even if a task is still computing."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    fd, memory_mb = int(argv[0]), int(argv[1])
    if memory_mb > 0:  # a runaway sympy computation hits MemoryError instead of the machine's RAM
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    conn = Connection(fd)

    from r1lab.grading.verify import ItemTimeout, run_op

    run_op("check", ("1", "1"), None)  # import and warm math-verify before saying ready
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return 0
        if message is None:
            return 0
        task_id, op, args, timeout = message
        try:
            reply = ("done", task_id, run_op(op, args, timeout))
        except ItemTimeout:
            reply = ("timeout", task_id)
        except MemoryError:
            reply = ("error", task_id, "out of memory")
        except Exception as exc:  # a bug or a sympy failure on one item must not end the worker
            reply = ("error", task_id, f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
