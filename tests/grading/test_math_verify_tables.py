"""Math-Verify's own public test tables, run through r1lab's grading path with the prediction as written.

The tables ship in math-verify's source distribution on PyPI. They are not copied into this
repository: the test downloads the sdist of the installed math-verify version at run time (with
pip, cached under ``~/.cache/r1lab``), reads every ``@pytest.mark.parametrize`` table whose rows
are (gold, pred, ..., expected) with ``ast.literal_eval`` (nothing from the archive is executed),
and grades ``pred`` against ``gold`` with `r1lab.grading.grade_many`. Offline, it is skipped.

    python tests/grading/test_math_verify_tables.py     # prints the agreement per table and each difference
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from r1lab.grading import grade_many

#: r1lab must agree with Math-Verify's expected outcome on at least this share of rows (issue #13).
REQUIRED_AGREEMENT = 0.96
#: Options r1lab always grades with (math-verify's defaults); rows that set others are marked.
DEFAULT_OPTIONS = {"precision": 6, "strict": True, "allow_set_relation_comp": False}


def sdist_path() -> Path:
    """The cached sdist of the installed math-verify, downloaded with pip when missing."""
    version = importlib.metadata.version("math-verify")
    cache = Path(os.environ.get("R1LAB_CACHE_DIR", Path.home() / ".cache" / "r1lab")) / "math-verify-sdist"
    found = sorted(cache.glob(f"math_verify-{version}.tar.gz"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--retries", "1"]
    command += ["--timeout", "15", "-d", str(cache), f"math-verify=={version}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    found = sorted(cache.glob(f"math_verify-{version}.tar.gz"))
    if result.returncode != 0 or not found:
        raise FileNotFoundError(
            f"pip could not download math-verify {version}: {result.stderr.strip()[-300:]}"
        )
    return found[0]


def load_rows(archive: Path) -> list[dict]:
    """Rows of every (gold, pred, ..., expected) table in the sdist's tests, with their options."""
    rows = []
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if "/tests/" not in member.name or not member.name.endswith(".py"):
                continue
            source = tar.extractfile(member).read().decode()
            for function in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)):
                for decorator in function.decorator_list:
                    rows += _table(decorator, f"{Path(member.name).name}::{function.name}")
    return rows


def _table(decorator: ast.expr, name: str) -> list[dict]:
    if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"):
        return []
    try:
        names = [n.strip() for n in ast.literal_eval(decorator.args[0]).split(",")]
        table = ast.literal_eval(decorator.args[1])
    except (ValueError, SyntaxError, IndexError, AttributeError):
        return []  # a table built with code (f-strings, math.sqrt): not read
    if names[:2] != ["gold", "pred"]:
        return []
    rows = []
    for values in table:
        row = dict(zip(names, values, strict=True))
        expected = row.pop("expected", row.pop("result", None))
        gold, pred = row.pop("gold"), row.pop("pred")
        options = {k: v for k, v in row.items() if DEFAULT_OPTIONS.get(k, v) != v}
        rows.append(
            {"table": name, "gold": gold, "pred": pred, "expected": bool(expected), "options": options}
        )
    return rows


def run(rows: list[dict]) -> list[dict]:
    grades = grade_many([r["pred"] for r in rows], [r["gold"] for r in rows])
    for row, grade in zip(rows, grades, strict=True):
        row.update(got=grade.correct, status=grade.status, extracted=grade.extracted, gold_read=grade.gold)
    return rows


@pytest.fixture(scope="module")
def graded_rows():
    try:
        archive = sdist_path()
    except (FileNotFoundError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"math-verify's sdist (its test tables) is not reachable: {exc}")
    rows = load_rows(archive)
    assert len(rows) > 200, f"expected Math-Verify's ~270 table rows, read {len(rows)} from {archive}"
    return run(rows)


@pytest.mark.slow  # downloads the sdist once (cached), then grades ~270 rows
def test_agreement_with_math_verify_tables(graded_rows):
    differences = [r for r in graded_rows if r["got"] != r["expected"]]
    agreement = 1 - len(differences) / len(graded_rows)
    detail = "\n".join(
        f"{r['table']}: gold {r['gold']!r:.50} pred {r['pred']!r:.60} expected {r['expected']} got {r['got']} "
        f"({r['status']}, extracted {r['extracted']!r:.40}, options {r['options']})"
        for r in differences
    )
    assert agreement >= REQUIRED_AGREEMENT, f"{agreement:.1%} agreement; differences:\n{detail}"


def report(rows: list[dict]) -> str:
    per_table: dict[str, Counter] = {}
    for row in rows:
        counts = per_table.setdefault(row["table"], Counter())
        counts["rows"] += 1
        counts["agree"] += row["got"] == row["expected"]
    lines = ["| table | rows | agree |", "|---|---|---|"]
    lines += [f"| {name} | {c['rows']} | {c['agree']} |" for name, c in per_table.items()]
    agree = sum(c["agree"] for c in per_table.values())
    lines.append(f"| **all** | {len(rows)} | **{agree} ({agree / len(rows):.1%})** |")
    default = [r for r in rows if not r["options"]]
    agree_default = sum(r["got"] == r["expected"] for r in default)
    lines.append(
        f"| rows with default options | {len(default)} | {agree_default} ({agree_default / len(default):.1%}) |"
    )
    lines.append("\nDifferences:")
    lines += [
        f"- {r['table']}: gold `{r['gold'][:60]}`, pred `{r['pred'][:80]}`: expected {r['expected']}, "
        f"r1lab {r['got']} ({r['status']}, extracted `{r['extracted']}`, options {r['options']})"
        for r in rows
        if r["got"] != r["expected"]
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    graded = run(load_rows(sdist_path()))
    sys.stdout.write(report(graded) + "\n")
    for mode_rows in ([dict(r, pred="\\boxed{" + r["pred"] + "}") for r in graded],):
        boxed = run(mode_rows)
        sys.stdout.write(
            f"with the prediction boxed: {sum(r['got'] == r['expected'] for r in boxed)}/{len(boxed)}\n"
        )
