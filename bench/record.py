"""Where a benchmark's numbers go: one JSON file per run under ``bench/results/``, with its provenance.

Every script in ``bench/`` ends with :func:`write_results`. The file says what was measured and under
what conditions (the machine, the load, the package versions, the date, the script's arguments), so a
number in the docs can be traced to a run, and ``bench/docs_numbers.py`` (``make docs-numbers``)
renders the docs' measured tables from these files instead of by hand.

The JSON convention (every key is written; new benches follow it):

- ``bench``: the script's name (``grading`` for ``bench/grading.py``); ``command``: how it was run;
  ``args``: its parsed arguments;
- ``date``: when it finished (ISO 8601, UTC); ``transcribed``: false here; true in files copied from
  the docs' earlier measurements, which also carry ``source`` (where the numbers were taken from);
- ``machine``: ``cpu`` model, ``cores`` usable, ``memory_gib``; ``load_average``: the 1/5/15-minute
  load at the start and at the end (the machine is usually shared: read ratios, not absolutes);
- ``versions``: ``r1lab.versions.core_versions()`` (null when unknown);
- ``results``: the raw numbers, shaped by the script;
- ``tables``: ``{name: {"columns": [...], "rows": [[...], ...], "align": [...]}}``, the Markdown tables
  the docs show, cells as text (``align``, optional: ``left`` or ``right`` per column); ``lines``: ``{name: text}``, measured sentences the docs quote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The load when this module was first imported: the start of the run, for the scripts that import it
#: at the top.
LOAD_AT_START = os.getloadavg()


def machine() -> dict[str, Any]:
    """CPU model, usable cores and total memory, read from /proc where there is one."""
    cpu = platform.processor() or None
    memory_gib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "memory_gib": memory_gib, "python": platform.python_version()}


def table(columns: list[str], rows: list[list[Any]], right: int = 0) -> dict[str, Any]:
    """A Markdown table as JSON; every cell becomes text exactly as the docs will show it.

    ``right``: how many trailing columns are right-aligned (the numbers).
    """
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"every row needs {len(columns)} cells: {columns}")
    spec: dict[str, Any] = {"columns": list(columns), "rows": [[str(cell) for cell in row] for row in rows]}
    if right:
        spec["align"] = ["left"] * (len(columns) - right) + ["right"] * right
    return spec


def write_results(
    bench: str,
    args: Any,
    results: dict[str, Any],
    tables: dict[str, dict[str, Any]] | None = None,
    lines: dict[str, str] | None = None,
    name: str | None = None,
) -> Path:
    """Write ``bench/results/<name or bench>.json`` and return its path (printed, for the log).

    ``args``: an ``argparse.Namespace`` or a dict. ``name`` separates runs of one script with different
    arguments (``serving-under-load``) so one does not overwrite the other.
    """
    from r1lab.versions import core_versions

    record = {
        "bench": bench,
        "command": " ".join(["python", *[Path(sys.argv[0]).as_posix(), *sys.argv[1:]]]),
        "args": dict(vars(args)) if hasattr(args, "__dict__") else dict(args or {}),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "transcribed": False,
        "machine": machine(),
        "load_average": {"start": list(LOAD_AT_START), "end": list(os.getloadavg())},
        "versions": core_versions(),
        "results": results,
        "tables": tables or {},
        "lines": lines or {},
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name or bench}.json"
    path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"results: {path}")
    return path
