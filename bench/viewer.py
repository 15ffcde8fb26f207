"""The trace viewer's speed on an R1-length MATH-500 x 4 run, this tree against a baseline, side by side.

Builds the browser test's synthetic run (500 problems x 4 samples of 10-20k characters, ~30 M
characters, traces sprinkled with ``$x^2$``/``\\frac``/``\\sqrt`` and a ``\\boxed{}`` answer), writes
one viewer page with this tree's code and one with the baseline's (``--baseline REF``: a git ref,
checked out with ``git archive`` into a temporary directory and run in a subprocess), then opens
both in one headless Chromium, alternating, and measures inside the page with
``performance.now()`` up to the next painted frame:

- open: navigation to the first rendered list (measured from here, wall clock);
- filter: choosing each "show problems with" filter (the list re-rendered);
- open a sample: clicking a problem, then a sample, until the sample and the formulas on screen
  are drawn;
- expand reasoning: opening a 10-20k character reasoning block until its on-screen formulas are drawn.

Medians over ``--repeats`` rounds; the machine is shared, so read the ratio, not the absolutes.
Writes bench/results/viewer.json (``bench/record.py``). About a minute::

    python bench/viewer.py --baseline 42c5b2e
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from record import table, write_results  # noqa: E402

logger = logging.getLogger("bench.viewer")

FILTERS = ("truncated", "wrong", "no_answer", "disagree", "unsolved", "all")

#: Resolves when the condition holds, then one more frame has been painted; returns the milliseconds.
UNTIL = """new Promise(resolve => {{ const t0 = performance.now(); {action};
  const tick = () => {{ if ({condition}) requestAnimationFrame(() => requestAnimationFrame(
    () => resolve(performance.now() - t0))); else requestAnimationFrame(tick); }};
  tick(); }})"""
DRAWN = (  # every formula that is on screen (inside its scrolled <pre>, if any) is drawn
    "[...document.querySelectorAll('{scope} .tex')].every(t => {{ const r = t.getBoundingClientRect(); "
    "const box = t.closest('pre'), c = box ? box.getBoundingClientRect() : {{top: 0, bottom: innerHeight}}; "
    "return !t.checkVisibility() || r.bottom < Math.max(0, c.top) || r.top > Math.min(innerHeight, c.bottom) "
    "|| t.classList.contains('done') || t.classList.contains('bad'); }})"
)

BUILD = """
import sys, json
sys.path.insert(0, {tests!r})
from pathlib import Path
from r1lab.evaluation.samples import write_viewer_for
print(write_viewer_for(Path({details!r}), Path({out!r})))
"""


def build(src: Path, details: Path, out: Path) -> float:
    """Write the viewer page with the r1lab under ``src``; returns the seconds it took."""
    started = time.perf_counter()
    code = BUILD.format(tests=str(ROOT / "tests"), details=str(details), out=str(out))
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def measure(browser, page: Path, index: int) -> dict[str, float]:
    """One round on one page: open, every filter, one sample opened, its reasoning expanded."""
    browser.call("Page.navigate", {"url": "about:blank"})
    browser.wait("location.href === 'about:blank'")
    out = {"open_s": browser.open(page.as_uri())}
    for name in FILTERS:
        action = (
            f"const s = document.querySelector('#f-show'); s.value = {json.dumps(name)}; "
            "s.dispatchEvent(new Event('change'))"
        )
        out[f"filter_{name}_ms"] = browser.js(UNTIL.format(action=action, condition="true"))
    action = f"document.querySelectorAll('section.problem .head')[{index}].click()"
    out["open_problem_ms"] = browser.js(UNTIL.format(action=action, condition=DRAWN.format(scope=".ptext")))
    action = "document.querySelector('section.problem.open tr.sample').click()"
    condition = "document.querySelector('.trace-body') && " + DRAWN.format(scope=".answer")
    out["open_sample_ms"] = browser.js(UNTIL.format(action=action, condition=condition))
    action = "document.querySelector('details.reasoning').open = true"
    out["expand_reasoning_ms"] = browser.js(
        UNTIL.format(action=action, condition=DRAWN.format(scope="details.reasoning"))
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", default=None, help="git ref of the code to compare with (none: this tree only)"
    )
    parser.add_argument("--problems", type=int, default=500, help="problems in the synthetic run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per page (medians are reported)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import importlib.util

    from r1lab.data.io import write_jsonl

    # tests/viewer/conftest.py drives Chromium for the tests; loaded by path ("viewer" is this script)
    spec = importlib.util.spec_from_file_location(
        "viewer_conftest", ROOT / "tests" / "viewer" / "conftest.py"
    )
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    Browser, synthetic_details = conftest.Browser, conftest.synthetic_details

    work = Path(tempfile.mkdtemp(prefix="r1lab-bench-viewer-"))
    rows = synthetic_details(num_problems=args.problems, samples=4)
    write_jsonl(work / "details.jsonl", rows)
    chars = sum(len(g) for r in rows for g in r["generations"])
    sources = {"this tree": ROOT / "src"}
    if args.baseline:
        base = work / "baseline"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "src"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        sources = {f"baseline {args.baseline}": base / "src", **sources}
    pages, built = {}, {}
    for label, src in sources.items():
        pages[label] = work / f"{label.split()[0]}.html"
        built[label] = build(src, work / "details.jsonl", pages[label])
        logger.info("%s: written in %.1f s, %.1f MB", label, built[label], pages[label].stat().st_size / 1e6)

    browser = Browser(args.chromium)
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    rounds: dict[str, list[dict[str, float]]] = {label: [] for label in pages}
    try:
        for r in range(args.repeats):
            for label, page in pages.items():
                rounds[label].append(measure(browser, page, index=r % 25))
    finally:
        browser.close()

    keys = list(next(iter(rounds.values()))[0])
    medians = {
        label: {k: statistics.median(x[k] for x in got) for k in keys} for label, got in rounds.items()
    }
    filters = {label: statistics.median(m[f"filter_{f}_ms"] for f in FILTERS) for label, m in medians.items()}
    labels = list(pages)
    rows_out = [
        ["viewer.html size (MB)", *[f"{pages[name].stat().st_size / 1e6:.1f}" for name in labels]],
        ["written in (s)", *[f"{built[name]:.1f}" for name in labels]],
        ["page open to first render (s)", *[f"{medians[name]['open_s']:.2f}" for name in labels]],
        ["a filter, median of 6 (ms)", *[f"{filters[name]:.0f}" for name in labels]],
        [
            "slowest filter (ms)",
            *[f"{max(medians[name][f'filter_{f}_ms'] for f in FILTERS):.0f}" for name in labels],
        ],
        ["open a problem (ms)", *[f"{medians[name]['open_problem_ms']:.0f}" for name in labels]],
        [
            "open a sample, formulas on screen drawn (ms)",
            *[f"{medians[name]['open_sample_ms']:.0f}" for name in labels],
        ],
        [
            "expand its reasoning, formulas on screen drawn (ms)",
            *[f"{medians[name]['expand_reasoning_ms']:.0f}" for name in labels],
        ],
    ]
    columns = ["", *labels]
    for row in [columns, *rows_out]:
        logger.info(" | ".join(row))
    line = (
        f"{args.problems} problems x 4 samples, {chars / 1e6:.1f} M characters; headless Chromium, "
        f"medians of {args.repeats} rounds per page, pages alternating; load average {os.getloadavg()[0]:.1f} at the end"
    )
    logger.info(line)
    write_results(
        "viewer",
        args,
        {
            "characters": chars,
            "medians": medians,
            "rounds": rounds,
            "bytes": {name: pages[name].stat().st_size for name in labels},
        },
        tables={"viewer": table(columns, rows_out)},
        lines={"viewer": line},
    )


if __name__ == "__main__":
    main()
