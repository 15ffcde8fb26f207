"""Render the docs' measured tables and lines from the benchmark results in ``bench/results/``.

    python bench/docs_numbers.py            # rewrite every marked section (make docs-numbers)
    python bench/docs_numbers.py --check    # exit 1 and name each section that differs from its JSON

A measured table in README.md or docs/*.md sits between two markers::

    <!-- numbers:serving.quiet -->
    ...rendered: the table, then one line saying where and when it was measured...
    <!-- /numbers:serving.quiet -->

``serving.quiet`` is table ``quiet`` of ``bench/results/serving.json`` (written by ``bench/serving.py``
through ``bench/record.py``). A name found under ``lines`` instead renders as that sentence, inline,
without the provenance line. Only the text between markers is rewritten; edit the prose around it by
hand, and the numbers by re-running the bench (or, for a transcribed file, by editing its JSON).
``tests/test_docs_numbers.py`` fails when a section and its JSON disagree.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
DOCS = (
    "README.md", "docs/benchmarks.md", "docs/demo.md", "docs/generation.md", "docs/grading.md", "docs/real-model.md",
)  # fmt: skip
MARKER = re.compile(r"<!-- numbers:(?P<name>[\w.-]+) -->(?P<body>.*?)<!-- /numbers:(?P=name) -->", re.S)
VERSION_ORDER = ("transformers", "trl", "torch", "math-verify", "vllm")


class NumbersError(Exception):
    """A marker that names no table, or a results file without its provenance."""


def load_results(results_dir: Path = RESULTS_DIR) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` under the results folder, by file stem."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(results_dir.glob("*.json"))
    }


def _load(load: Any) -> str:
    if isinstance(load, str):  # transcribed: the docs' own words ("1.9-2.2")
        return load
    if isinstance(load, dict):
        start, end = load.get("start"), load.get("end")
        if start and end:
            return f"{start[0]:.1f} at the start, {end[0]:.1f} at the end"
    return "not recorded"


def provenance(stem: str, record: dict[str, Any]) -> str:
    """One line: the file, the run (or the doc it was transcribed from), the date, machine, load, versions."""
    machine = record.get("machine") or {}
    where = ", ".join(
        part
        for part in (
            machine.get("cpu"),
            f"{machine['cores']} cores" if machine.get("cores") else None,
            f"{machine['memory_gib']:g} GiB" if machine.get("memory_gib") else None,
        )
        if part
    )
    versions = record.get("versions")
    if versions:
        stack = ", ".join(f"{name} {versions[name]}" for name in VERSION_ORDER if versions.get(name))
    else:
        stack = "package versions not recorded"
    if record.get("transcribed"):
        run = f"transcribed from {record['source']}, measured {record['date']}"
    else:
        run = f"`{record['command']}`, {record['date']}"
    return f"<sub>bench/results/{stem}.json: {run}; {where or 'machine not recorded'}; load {_load(record.get('load_average'))}; {stack}</sub>"


def _row(cells: list[str]) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def markdown_table(spec: dict[str, Any]) -> str:
    """``columns``, ``rows`` and optional ``align`` (``left`` / ``right`` per column) as GitHub Markdown."""
    align = spec.get("align") or ["left"] * len(spec["columns"])
    lines = [_row(spec["columns"]), "|" + "".join("---:|" if a == "right" else "---|" for a in align)]
    lines += [_row(row) for row in spec["rows"]]
    return "\n".join(lines)


def render_section(name: str, results: dict[str, dict[str, Any]]) -> str:
    """The text between the markers of ``name`` (``stem.key``)."""
    stem, _, key = name.partition(".")
    record = results.get(stem)
    if record is None:
        raise NumbersError(f"numbers:{name}: no bench/results/{stem}.json")
    if key in record.get("lines", {}):
        if key in record.get("tables", {}):
            raise NumbersError(
                f"numbers:{name}: bench/results/{stem}.json has a table and a line of that name"
            )
        return record["lines"][key]
    if key not in record.get("tables", {}):
        raise NumbersError(f"numbers:{name}: bench/results/{stem}.json has no table or line {key!r}")
    return f"\n{markdown_table(record['tables'][key])}\n\n{provenance(stem, record)}\n"


def render(text: str, results: dict[str, dict[str, Any]]) -> str:
    return MARKER.sub(
        lambda m: (
            f"<!-- numbers:{m['name']} -->{render_section(m['name'], results)}<!-- /numbers:{m['name']} -->"
        ),
        text,
    )


def stale_sections(text: str, results: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the marked sections whose text differs from what their JSON renders to."""
    return [m["name"] for m in MARKER.finditer(text) if m["body"] != render_section(m["name"], results)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a section is stale")
    args = parser.parse_args(argv)
    results = load_results()
    stale = 0
    for doc in DOCS:
        path = ROOT / doc
        text = path.read_text(encoding="utf-8")
        if args.check:
            for name in stale_sections(text, results):
                print(f"{doc}: numbers:{name} differs from bench/results/{name.partition('.')[0]}.json")
                stale += 1
        else:
            rendered = render(text, results)
            if rendered != text:
                path.write_text(rendered, encoding="utf-8")
                print(f"{doc}: rendered {len(MARKER.findall(text))} sections")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
