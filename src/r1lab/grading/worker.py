"""A grading worker process: ``python -m r1lab.grading.worker FD MEMORY_MB``.

It is started with ``subprocess`` (fork+exec), never ``multiprocessing`` fork, so it is safe to
start from a threaded parent (TRL, torch) and does not re-import the user's ``__main__``. It talks
to its pool over one socket with ``multiprocessing.connection`` messages:

- to the pool: ``("ready",)`` once math-verify is imported, then ``("done", task_id, value)`` or
  ``("timeout", task_id)`` or ``("error", task_id, message)`` per task, in order; ``("retire",)``
  before exiting because a health check failed (no task after the last answered one started);
- from the pool: ``(task_id, op, args, timeout)``, or None to exit.

A soft interval timer ends most slow items here (the worker survives); the pool kills the process
for the rest (sympy stuck in C code), so an item never outlives its deadline.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time

#: Typical answers parsed once at start-up, so lazy imports and caches inside math-verify and
#: sympy are built before the first timed item (an interrupt there would corrupt them).
WARM_UP = (
    ("1", "1"),
    ("\\frac{1}{2}", "0.5"),
    ("\\sqrt{2}", "2^{1/2}"),
    ("(1,2)", "1<x<2"),
    ("x^2+1", "1+x^2"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("10\\%", "0.1"),
    ("\\pi", "3.14159"),
)


def _exit_with_parent(parent_pid: int) -> None:
    """Exit when the pool's process is gone, even if a task is still computing."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def _healthy(nonce: int) -> bool:
    """Grade answers never seen before (so no cache answers for math-verify): is it still sane?"""
    from r1lab.grading.verify import ItemTimeout, run_op

    n = 1000 + nonce
    try:
        return (
            run_op("check", (f"{n}/7", f"\\frac{{{n}}}{{7}}"), 2.0) == "correct"
            and run_op("check", (f"x^2+{n}", f"{n}+x^{{2}}"), 2.0) == "correct"
            and run_op("check", (f"{n + 1}", f"{n}"), 2.0) == "wrong"
        )
    except (ItemTimeout, Exception):
        return False


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    fd, memory_mb = int(argv[0]), int(argv[1])
    if memory_mb > 0:  # a runaway sympy computation hits MemoryError instead of the machine's RAM
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    conn = Connection(fd)

    from r1lab.grading.verify import ItemTimeout, run_op

    for prediction, gold in WARM_UP:  # finish math-verify's lazy set-up before any item is timed
        run_op("check", (prediction, gold), None)
    conn.send(("ready",))
    canary = 0
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
            # An interrupt that lands in math-verify's lazy set-up can leave it broken (seen before
            # the warm-up existed: every later parse failing). Check with fresh inputs; a worker
            # that fails exits after replying, and the pool starts a clean one.
            canary += 1
            healthy = _healthy(canary)
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(("timeout", task_id))
                if not healthy:
                    conn.send(("retire",))
            if not healthy:
                return 3
            continue
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
