"""r1lab's grader on the real-output corpus: agreement per response format, and grading speed.

    .venv/bin/python bench/grading_corpus.py [--workers N] [--timeout 5] [--repeat 1]

The corpus (``tests/grading/corpus/SOURCES.md``) holds 7,344 published model outputs with their
authors' correctness labels; the reference is that label unless the hand audit
(``tests/grading/corpus/audit.jsonl``) overrides it. Agreement is reported against both. Speed is
samples per second of one ``grade_many`` call over the whole corpus (extraction in the caller,
verification in the worker pool), after a warm-up on 50 rows; the responses are long (median a few
KB, up to 120 KB), so this is slower per item than ``bench/grading.py``'s reference solutions.
Results go to ``bench/results/grading_corpus.json`` (``bench/record.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from record import LOAD_AT_START, table, write_results  # noqa: E402

from grading.corpus.corpus import grade_rows, load_audit, load_rows, tally, unaudited  # noqa: E402

log = logging.getLogger("bench.grading_corpus")
FORMAT_ORDER = ("thought_solution", "think", "tora", "boxed_cot", "unboxed_cot", "all")


def _grader_revision() -> str:
    """The commit the grader was measured at, with "+changes" when src/r1lab/grading differs from it."""
    root = Path(__file__).resolve().parents[1]

    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "src/r1lab/grading")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=None, help="grading processes (default: one per core)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per verification")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes over the corpus (median reported)")
    args = ap.parse_args()

    from r1lab.grading import grade_many, shutdown_pool

    rows, audit = load_rows(), load_audit()
    grade_many([r["response"] for r in rows[:50]], [r["gold"] for r in rows[:50]], workers=args.workers)
    walls, cpus = [], []
    for _ in range(args.repeat):
        start, cpu0 = time.perf_counter(), time.process_time()
        grades = grade_rows(rows, workers=args.workers)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu0)
    shutdown_pool()
    wall = statistics.median(walls)
    per_format = tally(rows, grades, audit)
    pending = unaudited(rows, grades, audit)
    chars = sorted(len(r["response"]) for r in rows)

    results = {
        "rows": len(rows),
        "audited_rows": len(audit),
        "unaudited_disagreements": len(pending),
        "per_format": {fmt: per_format[fmt].to_dict() for fmt in FORMAT_ORDER if fmt in per_format},
        "answerless_accepted_ids": per_format["all"].answerless_accepts,
        "seconds": round(wall, 2),
        "samples_per_s": round(len(rows) / wall, 1),
        "caller_cpu_s": round(statistics.median(cpus), 2),
        "response_chars": {"median": chars[len(chars) // 2], "max": chars[-1]},
        "workers": args.workers or len(os.sched_getaffinity(0)),
        "grader": _grader_revision(),
    }
    columns = [
        "format",
        "rows",
        "agreement (audited)",
        "agreement (raw labels)",
        "false accepts",
        "false rejects",
    ]
    columns.append("answerless accepted")
    body = []
    for fmt in FORMAT_ORDER:
        if fmt in per_format:
            t = per_format[fmt]
            body.append(
                [
                    f"**{fmt}**" if fmt == "all" else f"`{fmt}`",
                    f"{t.rows:,}",
                    f"{100 * t.agreement:.2f}%",
                    f"{100 * t.label_agreement:.2f}%",
                    t.false_accepts,
                    t.false_rejects,
                    len(t.answerless_accepts),
                ]
            )
    speed = (
        f"{len(rows):,} samples graded in {wall:.0f} s ({len(rows) / wall:.0f} samples/s, "
        f"{results['workers']} workers, load {LOAD_AT_START[0]:.1f})"
    )
    for fmt, t in per_format.items():
        log.info("%-18s %s", fmt, t.to_dict())
    log.info("%s; %d disagreements not yet audited", speed, len(pending))
    write_results(
        "grading_corpus",
        args,
        results,
        tables={"agreement": table(columns, body, right=6)},
        lines={"speed": speed},
    )


if __name__ == "__main__":
    main()
