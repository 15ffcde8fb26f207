"""Longest-expected-first dispatch (generation/schedule.py) through the real client and CLI.

The loopback server (r1lab.testkit's LengthServer) is a list-scheduling engine: the k-th request for problem p sleeps for
the k-th length of p and reports it as its completion tokens, so a schedule's makespan and the
order in which it sends problems can be measured against FIFO side by side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from r1lab.errors import ConfigError, DataError
from r1lab.generation import GenerateConfig, generate
from r1lab.generation.schedule import AdaptiveSchedule, load_length_prior, prior_order
from r1lab.testkit import LengthServer

from .test_kill_resume import wait_for_lines


def rows(problems: int) -> list[dict]:
    return [{"id": f"p{p}", "problem": f"problem {p}"} for p in range(problems)]


def run(tmp_path, server, problems, samples, name, **options):
    config = GenerateConfig(
        output=str(tmp_path / f"out-{name}.jsonl"), base_urls=[server.base_url], model="m",
        prompt_template="plain", num_generations=samples, progress=False, **options,
    )  # fmt: skip
    stats = generate(config, rows=rows(problems))
    assert stats.rows_done == problems
    return stats


def write_prior(path, lengths: dict[int, list[int]]):
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"p{p}",
                    "generations": ["x"] * len(ls),
                    "usage": {"completion_tokens_per_generation": ls},
                }
            )
            + "\n"
            for p, ls in lengths.items()
        )
    )
    return path


# ---------------------------------------------------------------- the prior
def test_prior_is_read_from_generations_details_or_an_evaluation_dir(tmp_path):
    gens = write_prior(tmp_path / "g.jsonl", {0: [10, 30], 1: [100, 100]})
    assert load_length_prior(gens) == {"p0": 20.0, "p1": 100.0}
    details = tmp_path / "eval" / "aime24" / "details.jsonl"
    details.parent.mkdir(parents=True)
    details.write_text(json.dumps({"id": "7", "generations": ["a", "b"], "completion_tokens": [4, 8]}) + "\n")
    # an evaluation directory: the subdirectory named like this run's output directory
    assert load_length_prior(tmp_path / "eval", output=tmp_path / "new" / "aime24" / "generations.jsonl") == {
        "7": 6.0
    }
    # a benchmark the earlier evaluation did not run: no prior (auto then learns as it goes)
    assert (
        load_length_prior(tmp_path / "eval", output=tmp_path / "new" / "aime25" / "x.jsonl", required=False)
        == {}
    )
    no_counts = tmp_path / "old.jsonl"  # an older output without per-generation counts: text length
    no_counts.write_text(json.dumps({"id": "a", "generations": ["x" * 400, "x" * 800]}) + "\n")
    assert load_length_prior(no_counts) == {"a": 150.0}
    assert prior_order(["a", "b", "c", "d"], {"a": 1.0, "b": 5.0, "d": 3.0}) == [2, 1, 3, 0]  # unknown first


def test_bad_prior_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_length_prior(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="without a lengths file"):
        load_length_prior(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "generations": ["x"]}\nnot json\n')
    with pytest.raises(DataError, match=r"bad.jsonl.*row 2"):
        load_length_prior(bad)
    with pytest.raises(ConfigError, match="needs --length-prior"):
        GenerateConfig(output=str(tmp_path / "o.jsonl"), schedule="prior")
    with pytest.raises(ConfigError, match="schedule must be"):
        GenerateConfig(output=str(tmp_path / "o.jsonl"), schedule="random")


def test_prior_orders_rows_longest_first_through_the_client(tmp_path):
    lengths = {p: [1, 1] for p in range(6)}
    prior = write_prior(tmp_path / "prior.jsonl", {0: [5, 5], 1: [50, 70], 2: [1, 1], 4: [30, 30], 5: [9, 9]})
    with LengthServer(lengths) as server:
        run(tmp_path, server, 6, 2, "prior", max_concurrent=1, length_prior=str(prior))
        prior_sent = list(server.sent)
    with LengthServer(lengths) as server:
        run(tmp_path, server, 6, 2, "fifo", max_concurrent=1, length_prior=str(prior), schedule="fifo")
        fifo_sent = list(server.sent)
    # p3 has no prior (goes first), then 1 (60), 4 (30), 5 (9), 0 (5), 2 (1); a row's samples together
    assert prior_sent == [3, 3, 1, 1, 4, 4, 5, 5, 0, 0, 2, 2]
    assert fifo_sent == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


# ---------------------------------------------------------------- the adaptive schedule
class State:
    def __init__(self, row_id):
        self.row_id, self.finished, self.completion_tokens_per_generation = row_id, False, []


class Job:
    def __init__(self, state):
        self.state, self.n = state, 1


def make_jobs(row_id, row):
    state = State(row_id)
    return [Job(state) for _ in range(row["n"])]


def test_adaptive_probes_every_row_then_serves_unknown_then_longest_observed():
    schedule = AdaptiveSchedule(iter([(f"r{i}", {"n": 3}) for i in range(4)]), make_jobs, lookahead=10)
    probes = [schedule.next() for _ in range(4)]
    assert [j.state.row_id for j in probes] == ["r0", "r1", "r2", "r3"]  # one of each row first
    for job, tokens in zip(probes[:3], [10, 500, 40], strict=True):  # r3's probe is still running
        job.state.completion_tokens_per_generation.append(tokens)
        schedule.finished(job)
    order = [schedule.next().state.row_id for _ in range(8)]
    # r3 (nothing back yet: presumed long) first, then by observed length: r1 (500), r2 (40), r0 (10)
    assert order == ["r3", "r3", "r1", "r1", "r2", "r2", "r0", "r0"]
    assert schedule.next() is None


def test_adaptive_window_bounds_open_rows():
    schedule = AdaptiveSchedule(iter([(f"r{i}", {"n": 4}) for i in range(200)]), make_jobs, lookahead=8)
    in_flight: list = []
    sent = 0
    while True:  # 4 slots; each job finishes after the next is sent
        job = schedule.next()
        if job is None and not in_flight:
            break
        if job is not None:
            in_flight.append(job)
            sent += 1
        if len(in_flight) >= 4 or job is None:
            done = in_flight.pop(0)
            state = done.state
            state.completion_tokens_per_generation.append(7)
            state.finished = len(state.completion_tokens_per_generation) == 4
            schedule.finished(done)
    assert sent == 800  # every job exactly once
    assert schedule.max_open <= 8 + 4  # the window plus what is in flight: memory stays bounded


# ---------------------------------------------------------------- makespan, side by side
def tail_workload() -> dict[int, list[int]]:
    """11 short problems then one hard one last: FIFO starts the hard samples at the end."""
    lengths = {p: [50, 60, 40, 50] for p in range(11)}
    lengths[11] = [500, 550, 450, 500]
    return lengths


def test_longest_first_beats_fifo_makespan(tmp_path):
    lengths = tail_workload()
    prior = write_prior(tmp_path / "prior.jsonl", {p: [x + 7 for x in ls] for p, ls in lengths.items()})
    slots, token_time = 8, 0.0015
    flat = [x for ls in lengths.values() for x in ls]
    bound = max(sum(flat) / slots, max(flat)) * token_time
    makespans: dict[str, float] = {}
    for attempt in range(2):  # interleaved, best of two: a stall of the shared machine hits one run only
        for name, options in [
            ("fifo", {"schedule": "fifo"}),
            ("prior", {"length_prior": str(prior)}),
            ("adaptive", {}),  # auto without a prior
        ]:
            with LengthServer(lengths, token_time) as server:
                stats = run(tmp_path, server, 12, 4, f"{name}{attempt}", max_concurrent=slots, **options)
            makespans[name] = min(makespans.get(name, float("inf")), stats.duration_s)
    ratios = {name: t / bound for name, t in makespans.items()}
    # ideal: FIFO ~1.5x the bound, longest-first ~1.0-1.15x
    assert ratios["prior"] < 0.85 * ratios["fifo"], ratios
    assert ratios["adaptive"] < 0.9 * ratios["fifo"], ratios
    assert ratios["fifo"] > 1.3, ratios  # the workload really has a tail


# ---------------------------------------------------------------- resume
@pytest.mark.parametrize("name", ["prior", "adaptive"])
def test_sigkill_and_resume_write_each_row_once(tmp_path, name):
    problems = 60
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows(problems)))
    lengths = {p: [10 + (p * 37) % 50] * 3 for p in range(problems)}
    prior = write_prior(tmp_path / "prior.jsonl", lengths)
    extra = ["--length-prior", str(prior)] if name == "prior" else ["--schedule", "adaptive"]
    out = tmp_path / f"out-{name}.jsonl"
    cmd = [
        sys.executable, "-m", "r1lab.cli", "generate", "--input", str(inp), "--output", str(out),
        "--model", "m", "--prompt-template", "plain", "--num-generations", "3",
        "--max-concurrent", "6", "--no-progress", *extra,
    ]  # fmt: skip
    with LengthServer(lengths, 0.002) as server:
        proc = subprocess.Popen([*cmd, "--base-url", server.base_url], stderr=subprocess.PIPE)
        wait_for_lines(out, 8, proc)
        proc.kill()
        proc.wait()
        written = [json.loads(line)["id"] for line in out.read_text().splitlines()]
        assert 8 <= len(written) < problems
        time.sleep(0.3)
        sent_before = len(server.sent)
        done = subprocess.run([*cmd, "--base-url", server.base_url], capture_output=True, text=True)
        rerun_sent = server.sent[sent_before:]
    assert done.returncode == 0, done.stderr
    out_rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert out_rows[: len(written)] == [r for r in out_rows if r["id"] in written]  # the old rows stay put
    assert sorted(r["id"] for r in out_rows) == sorted(f"p{p}" for p in range(problems))  # exactly once
    assert all(len(r["generations"]) == 3 for r in out_rows)
    assert sorted(set(rerun_sent)) == sorted(int(r["id"][1:]) for r in out_rows[len(written) :])
    if name == "prior":  # the rerun sent the missing rows longest-expected first
        sent = [lengths[p][0] for p in rerun_sent]  # (concurrent posts may swap neighbours on arrival)
        pairs = [(a, b) for i, a in enumerate(sent) for b in sent[i + 1 :] if a != b]
        assert sum(a < b for a, b in pairs) < 0.05 * len(pairs)  # input order: ~half would be inverted
