"""SIGTERM (a Slurm preemption, ``scancel`` or time limit) ends a run like Ctrl-C, at any moment.

What a run does on each signal, and why nothing finished is lost or written twice:

- **SIGKILL** (Slurm sends it ``KillWait`` seconds after SIGTERM): the output store appends each
  finished row with one flushed write, cuts a torn last line on the next open, and skips ids already
  written (``generation/store.py``), so a requeued task resumes where this one stopped.
- **SIGTERM while requests are in flight**: the runner's own asyncio handler cancels the sliding
  window; in-flight rows are dropped (they are regenerated on the rerun), the store is synced and
  ``OUT.stats.json`` is written with ``interrupted: true``.
- **SIGTERM at any other moment** (loading the input, starting a ``--serve-model`` server, grading
  in ``r1lab evaluate``): Python's default is to die at once without running ``finally`` blocks.
  ``install()`` turns it into ``Terminated`` (a ``KeyboardInterrupt``), so the same cleanup as
  Ctrl-C runs: a served model is stopped, the store closed, and the CLI exits with status 130.

Only the first SIGTERM raises: Slurm signals every process of a job, and a second one during the
cleanup must not cut that cleanup short (SIGKILL ends it if it takes longer than ``KillWait``).
asyncio resets SIGTERM to the default action when the runner removes its own handler after the
window; the runner then puts back the handler that was there before, so between two benchmarks of
``r1lab evaluate`` SIGTERM still runs the cleanup.
"""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives; the CLI handles it like Ctrl-C."""


_received = False


def _on_sigterm(signum: int, frame: object) -> None:
    global _received
    if _received:
        return
    _received = True
    logger.warning(
        "SIGTERM (Slurm preemption, scancel or time limit): stopping; finished rows are on disk "
        "and rerunning (or requeueing) the same command resumes"
    )
    raise Terminated()


def install() -> bool:
    """Handle SIGTERM as described above; returns False where that is impossible (not the main thread)."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        return False
    _received = False
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


def terminated() -> bool:
    """Whether a SIGTERM arrived since ``install()``."""
    return _received
