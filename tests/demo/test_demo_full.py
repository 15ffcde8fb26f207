"""The full demo's claims, checked: the numbers docs/demo.md states, and the lift they show.

Slow (about seven minutes on two free cores): the full preset end to end, with its defaults.

A lift alone is not enough: a fresh machine once ran the demo with a server that sampled every
request at temperature 1.0 instead of 0.6 and printed "GRPO lifted held-out pass@1 from 14.2% to
28.2%" while docs/demo.md says 29.8-47.0% -> 70.8-78.5%. So the test holds the run to the numbers
the docs measured (each run's value ± 3 of its standard error and the runs' spread together, over all
measured runs: the files bench/demo.py wrote, which docs/demo.md is rendered from), and to the
demo's own guard: the GRPO model's served pass@1 agrees with in-process sampling, and that guard
does flag sampling at the wrong temperature.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from r1lab.demo import make_config, run_demo

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
#: The runs docs/demo.md's "Measured results" tables are rendered from (``python bench/demo.py --seeds
#: 0 1 2 3 4``), and the earlier runs whose cold start and GRPO stages are today's: the earlier student
#: had 400 SFT steps, and a fresh machine's 400-step student stopped mid-way at 50% (now 600 steps).
CURRENT, EARLIER = RESULTS / "demo-full.json", RESULTS / "demo-full-400-student-steps.json"
#: A run counts as the recipe working when GRPO's lift is this many standard errors clear. Seed 3
#: of the current runs is not: its cold start stalled (last loss 0.153 against 0.065-0.082), and
#: the whole run stayed low (11.5% -> 17.8% -> 38.5%); docs/demo.md shows it.
WORKING_LIFT_SE = 4.0


def documented(model: str) -> list[tuple[float, float]]:
    """(pass@1, s.e.) of ``model`` in every documented run that used today's recipe for it and in
    which the recipe worked (``WORKING_LIFT_SE``)."""
    files = [CURRENT] if model == "student" else [CURRENT, EARLIER]
    runs = [run for path in files for run in json.loads(path.read_text())["results"]["runs"]]
    return [
        (run["models"][model]["pass@1"], run["models"][model]["pass@1_stderr"])
        for run in runs
        if _lift_in_se(run["models"]) >= WORKING_LIFT_SE
    ]


def _lift_in_se(models: dict) -> float:
    cold, grpo = models["cold_start"], models["grpo"]
    return (grpo["pass@1"] - cold["pass@1"]) / math.hypot(cold["pass@1_stderr"], grpo["pass@1_stderr"])


def spread(measured: list[tuple[float, float]]) -> tuple[float, float]:
    """The run-to-run spread the docs measured: each run's value +- 3 of its own s.e. and the
    runs' standard deviation together.

    A run's s.e. is only its evaluation's sampling noise. The student is distilled from traces the
    GRPO model samples afresh in every run (unseeded, through a server), so it also varies run to
    run by more than that: two runs of seed 0 here gave 96.2% and 99.5% at s.e. 1.6 and 0.4
    points, and a fresh machine's 93.2%.
    """
    values = [value for value, _ in measured]
    between = statistics.stdev(values) if len(values) > 1 else 0.0
    low = min(value - 3 * math.hypot(se, between) for value, se in measured)
    high = max(value + 3 * math.hypot(se, between) for value, se in measured)
    return max(low, 0.0), min(high, 1.0)


def test_the_full_demo_reproduces_the_documented_numbers(tmp_path):
    out = tmp_path / "demo"
    config = make_config({"output_dir": str(out)})
    results = run_demo(config)
    cold, grpo, student = (results["models"][name] for name in ("cold_start", "grpo", "student"))

    # the numbers docs/demo.md claims, within the spread measured there
    for name, numbers in (("grpo", grpo), ("student", student), ("cold_start", cold)):
        low, high = spread(documented(name))
        assert low <= numbers["pass@1"] <= high, (name, numbers["pass@1"], (low, high), results["headline"])

    # the lift, beyond two standard errors
    noise = (cold["pass@1_stderr"] ** 2 + grpo["pass@1_stderr"] ** 2) ** 0.5
    assert results["grpo_lift"] == pytest.approx(grpo["pass@1"] - cold["pass@1"])
    assert results["grpo_lift"] > 2 * noise, (cold, grpo)
    assert results["headline"].startswith("GRPO lifted held-out pass@1")
    # what GRPO learnt: to show the working, which the reward never mentions
    assert grpo["shows_working"] > cold["shows_working"] + 0.2
    assert grpo["length_mean"] > cold["length_mean"]
    # distillation: a fresh model trained only on the GRPO model's correct traces beats the cold start
    assert student["pass@1"] > cold["pass@1"]
    assert results["distill"]["kept"] > 0

    # the demo's own guard ran and agreed, and the report and results record it
    check = results["sampling_check"]
    assert check["agree"] and check["problems"] == config.check_problems, check
    assert check["served_pass_at_1"] == pytest.approx(_served_subset(out, config.check_problems), abs=1e-9)
    assert "Served against in-process sampling" in (out / "report.md").read_text()
    assert results["environment"]["versions"]["transformers"]

    # ... and the guard catches exactly the failure it is for: sampling at temperature 1.0, not 0.6
    from r1lab.demo.sampling import check_served_sampling
    from r1lab.demo.stages import Paths
    from r1lab.errors import R1labError

    hot = make_config({"output_dir": str(out), "temperature": 1.0})  # in-process at 1.0, served at 0.6
    with pytest.raises(R1labError, match=r"disagrees with in-process sampling.*s\.e\."):
        check_served_sampling(hot, Paths(out))


def _served_subset(out, count: int) -> float:
    """The GRPO model's served pass@1 over the first ``count`` test problems, read from its details."""
    ids = [json.loads(line)["id"] for line in (out / "data" / "test.jsonl").read_text().splitlines()][:count]
    rows = {
        row["id"]: row["correct"]
        for row in map(
            json.loads, (out / "evaluate" / "grpo" / "test" / "details.jsonl").read_text().splitlines()
        )
    }
    return sum(sum(rows[i]) / len(rows[i]) for i in ids) / len(ids)
