"""List the corpus rows where r1lab's current grade and the source label disagree with no audit yet.

    .venv/bin/python tests/grading/corpus/audit.py [--show] [--tail 700] [--format NAME]
    .venv/bin/python tests/grading/corpus/audit.py --all-disagreements   # vs the audited reference

Re-run it after every grader change: each row it lists needs a verdict in audit.jsonl
(``{"id", "reference", "answerless", "reason"}``) before the corpus test can count it. ``--grades
FILE`` also writes r1lab's grades (id, correct, extracted, status) for later inspection.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grading.corpus.corpus import (  # noqa: E402
    disagreements,
    grade_rows,
    load_audit,
    load_rows,
    tally,
    unaudited,
)

log = logging.getLogger("audit")


def _boxes(text: str) -> list[str]:
    return [text[m.start() : m.start() + 60] for m in re.finditer(r"\\boxed\{", text)]


def show(row: dict, grade, tail: int) -> str:
    resp = row["response"]
    lines = [
        f"=== {row['id']}  format={row['format']}  label={row['label']}  "
        f"r1lab={grade.correct} ({grade.status}, extracted={grade.extracted!r})",
        f"gold: {row['gold']!r}",
        f"problem: {row['problem'][:300]!r}",
        f"boxes ({len(_boxes(resp))}): {_boxes(resp)[-4:]}",
        f"response[-{tail}:] ({len(resp)} chars):",
        resp[-tail:],
    ]
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", action="store_true", help="print each row's problem, boxes and tail")
    ap.add_argument("--tail", type=int, default=700, help="characters of each response's end to show")
    ap.add_argument("--format", default=None, help="only rows of this format")
    ap.add_argument(
        "--all-disagreements", action="store_true", help="list disagreements with the audited reference"
    )
    ap.add_argument("--grades", type=Path, default=None, help="write r1lab's grades here (JSONL)")
    args = ap.parse_args()

    rows, audit = load_rows(), load_audit()
    known = {r["id"] for r in rows}
    stale = sorted(set(audit) - known)
    if stale:
        log.warning("%d audit entries name rows not in the corpus: %s", len(stale), stale[:5])
    if args.format:
        rows = [r for r in rows if r["format"] == args.format]
    start = time.perf_counter()
    grades = grade_rows(rows)
    log.info("graded %d rows in %.1f s", len(rows), time.perf_counter() - start)
    if args.grades:
        with args.grades.open("w") as f:
            for r, g in zip(rows, grades, strict=True):
                f.write(
                    json.dumps(
                        {"id": r["id"], "correct": g.correct, "extracted": g.extracted, "status": g.status}
                    )
                    + "\n"
                )
    for fmt, t in sorted(tally(rows, grades, audit).items()):
        log.info("%-18s %s", fmt, t.to_dict())
    listed = disagreements(rows, grades, audit) if args.all_disagreements else unaudited(rows, grades, audit)
    what = "disagreements with the audited reference" if args.all_disagreements else "unaudited disagreements"
    log.info("%d %s", len(listed), what)
    for row, grade in listed:
        if args.show:
            print(show(row, grade, args.tail), "\n")
        else:
            print(
                f"{row['id']}\tlabel={row['label']}\tr1lab={grade.correct}\t{grade.status}\t{grade.extracted!r}\tgold={row['gold']!r}"
            )


if __name__ == "__main__":
    main()
