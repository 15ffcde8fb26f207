"""Bounded time: hostile answers end as timeouts within timeout + 1 s, and the pool recovers."""

from __future__ import annotations

import os
import signal
import time

import pytest

from r1lab.grading import STATUS_OK, STATUS_TIMEOUT, GradingPool, grade, grade_many
from r1lab.grading.pool import TaskTimeout

HOSTILE = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{(10^{100000000})!}",
    "\\boxed{\\frac{1}{10^{10^{9}}}}",
    "\\boxed{" + "{" * 3000 + "1" + "}" * 3000 + "}",
    "x" * 100_000 + " \\boxed{2^{2^{40}}}",
]


@pytest.fixture(scope="module")
def pool():
    pool = GradingPool(workers=2)
    yield pool
    pool.close()


def _latency(pool: GradingPool, op: str, args: tuple, timeout: float):
    future = pool.submit(op, args, timeout)
    try:
        value = future.result()
    except TaskTimeout as exc:
        value = exc
    return value, pool.latencies[-1]


def test_hostile_answers_time_out_within_the_bound(pool):
    from r1lab.grading import extract_answer

    for response in HOSTILE:
        answer = extract_answer(response) or response  # the deep box is too long to be an answer
        value, seconds = _latency(pool, "check", (answer, "1"), 1.0)
        assert isinstance(value, TaskTimeout) or value in ("wrong", "correct"), value
        assert seconds <= 1.0 + 1.0, (response[:40], seconds)


def test_grade_reports_timeouts_and_keeps_working():
    start = time.monotonic()
    grades = grade_many(["\\boxed{9^{9^{9^{9}}}}", "\\boxed{2}"], ["1", "2"], timeout=1.0)
    assert [g.status for g in grades] == [STATUS_TIMEOUT, STATUS_OK]
    assert grades[1].correct
    assert (
        time.monotonic() - start < 60
    )  # start-up of the shared pool included; the item bound is tested above
    assert grade("\\boxed{\\frac{3}{6}}", "0.5").correct


def test_stuck_workers_are_killed_and_replaced(pool):
    # A worker stuck where no signal reaches it (sympy in C code) is what the hard deadline is for;
    # SIGSTOP makes a worker exactly that stuck.
    for worker in pool._workers:
        while not worker.ready:
            time.sleep(0.05)
    restarts = pool.restarts
    for worker in pool._workers:
        os.kill(worker.process.pid, signal.SIGSTOP)
    futures = [pool.submit("check", ("2", "2"), 0.5) for _ in range(pool.size)]
    for future in futures:
        with pytest.raises(TaskTimeout):
            future.result()
    assert max(list(pool.latencies)[-pool.size :]) <= 0.5 + 1.0
    assert pool.restarts == restarts + pool.size
    assert pool.submit("check", ("\\frac{1}{2}", "0.5"), 30.0).result() == "correct"


def test_tasks_queued_behind_a_stuck_one_are_not_blamed(pool):
    for worker in pool._workers:
        while not worker.ready:
            time.sleep(0.05)
    os.kill(pool._workers[0].process.pid, signal.SIGSTOP)
    futures = pool.submit_many("check", [(str(i), str(i)) for i in range(8)], 0.5)
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except TaskTimeout:
            outcomes.append("timeout")
    assert outcomes.count("timeout") == 1  # only the task that was running on the stopped worker
    assert outcomes.count("correct") == 7


def test_close_fails_pending_tasks_and_stops_workers():
    pool = GradingPool(workers=1)
    processes = [w.process for w in pool._workers]
    pool.close()
    assert all(p.poll() is not None for p in processes)
    with pytest.raises(RuntimeError):
        pool.submit("check", ("1", "1"), 1.0)


def test_workers_that_cannot_start_raise_instead_of_grading_wrong(monkeypatch):
    import sys

    from r1lab.errors import R1labError
    from r1lab.grading.pool import run_tasks

    monkeypatch.setattr(sys, "executable", "/bin/false")  # every worker exits at once
    pool = GradingPool(workers=1)
    with pytest.raises(R1labError, match="before they are ready"):
        run_tasks(pool, "check", [("1", "1")], 1.0)
    assert pool.closed
