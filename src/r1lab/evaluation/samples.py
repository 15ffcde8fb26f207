"""Per-sample views of a run: outcomes, the details Parquet, and the trace viewer's input.

details.jsonl holds one row per *problem* with lists parallel to its samples (the shape the
generation engine writes, so resuming and ``--length-prior`` readers keep working). Analyses
want one row per *sample*; ``sample_rows`` flattens, ``write_details_parquet`` stores that as
Parquet with a fixed schema (``datasets.load_dataset("parquet", data_files=...)`` opens it), and
``viewer_problems`` turns any generate / grade / evaluate output into what
``r1lab.report.viewer`` renders.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from r1lab.errors import DataError
from r1lab.evaluation.metrics import sample_outcome

logger = logging.getLogger(__name__)

DETAILS_PARQUET_FILE = "details.parquet"
VIEWER_FILE = "viewer.html"
#: Per-sample columns of graded rows: the extraction tier and the (start, end) of the answer in the
#: response (`r1lab.grading.Extraction`); read when present, else recomputed (`answer_location`).
ANSWER_TIERS = "answer_tiers"
ANSWER_SPANS = "answer_spans"

#: The Parquet columns, one row per sample (strings for subject/level: datasets mix ints and text).
PARQUET_COLUMNS = (
    "id",
    "sample",
    "problem",
    "gold",
    "subject",
    "level",
    "generation",
    "reasoning",
    "extracted",
    "correct",
    "grade_status",
    "outcome",
    "finish_reason",
    "completion_tokens",
    "cluster",
)


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def sample_rows(details: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """One dict per sample of each details row (evaluation or ``r1lab grade`` output alike)."""
    for row in details:
        generations = row.get("generations")
        if isinstance(generations, str) or generations is None:
            generations = [generations]
        for j, text in enumerate(generations):
            correct = bool(_at(row.get("correct"), j))
            status = _at(row.get("grade_status"), j)
            reason = _at(row.get("finish_reasons"), j)
            tokens = _at(row.get("completion_tokens"), j)
            cluster = _at(row.get("clusters"), j)
            yield {
                "id": str(row.get("id")),
                "sample": j,
                "problem": _text(row.get("problem")),
                "gold": _text(row.get("gold", row.get("answer"))),
                "subject": _text(row.get("subject")),
                "level": _text(row.get("level")),
                "generation": _text(text),
                "reasoning": _text(_at(row.get("reasoning"), j)),
                "extracted": _text(_at(row.get("extracted"), j)),
                "correct": correct,
                "grade_status": _text(status),
                "outcome": sample_outcome(correct, status, reason) if status is not None else None,
                "finish_reason": _text(reason),
                "completion_tokens": int(tokens) if isinstance(tokens, (int, float)) else None,
                "cluster": int(cluster) if isinstance(cluster, int) else None,
            }


def write_details_parquet(path: str | os.PathLike, details: Iterable[Mapping[str, Any]]) -> Path:
    """details as Parquet, one row per sample, schema fixed so empty or all-null columns still load."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    string, integer = pa.string(), pa.int64()
    types = {"sample": integer, "correct": pa.bool_(), "completion_tokens": integer, "cluster": integer}
    schema = pa.schema([(name, types.get(name, string)) for name in PARQUET_COLUMNS])
    rows = list(sample_rows(details))
    table = pa.Table.from_pylist(rows, schema=schema)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


# ----------------------------------------------------------------------------- viewer input


def _disagree(row: Mapping[str, Any], extracted: Sequence[Any]) -> bool:
    """Whether the samples gave different answers (verifier clusters when present, else the text)."""
    clusters = row.get("clusters")
    if isinstance(clusters, list) and clusters:
        return len({c for c in clusters}) > 1
    return len({(str(x).strip() if x is not None else None) for x in extracted}) > 1


def answer_location(
    text: str | None, extracted: Any, finish_reason: str | None, tier: Any = None, span: Any = None
) -> tuple[str | None, tuple[int, int] | None]:
    """(tier, (start, end)) of the answer the grader read in ``text``; (None, None) when unknown.

    Graded rows written since the grader recorded them carry ``answer_tiers``/``answer_spans``;
    for older rows the extraction is re-run (`r1lab.grading.find_answer`, linear and cheap) and
    kept only when it reads the same answer the row holds, so a highlight never points at
    something the grader did not read (an older grader, another ``--response-format``).
    """
    if extracted is None or not text:
        return None, None
    recorded = isinstance(span, (list, tuple)) and len(span) == 2 and all(isinstance(v, int) for v in span)
    if recorded and 0 <= span[0] <= span[1] <= len(text):
        return (str(tier) if tier is not None else None), (span[0], span[1])
    from r1lab.grading import find_answer

    found = find_answer(text, finish_reason=finish_reason)
    if found is None or found.span is None or found.answer != str(extracted):
        return None, None
    return found.tier, found.span


def viewer_problem(row: Mapping[str, Any], *, answer_column: str = "answer") -> dict[str, Any]:
    """One problem for the viewer from a details / graded / generated row (grades optional)."""
    generations = row.get("generations")
    if isinstance(generations, str) or generations is None:
        generations = [generations]
    texts = [g.get("content") if isinstance(g, Mapping) else g for g in generations]
    count = len(texts)
    extracted = [_at(row.get("extracted"), j) for j in range(count)]
    statuses = [_at(row.get("grade_status"), j) for j in range(count)]
    reasons = [_at(row.get("finish_reasons"), j) for j in range(count)]
    flags = [bool(_at(row.get("correct"), j)) for j in range(count)]
    tokens = row.get("completion_tokens")
    graded = "grade_status" in row or "correct" in row
    samples = []
    for j in range(count):
        n = _at(tokens, j)
        tier, span = answer_location(
            texts[j],
            extracted[j],
            reasons[j],
            _at(row.get(ANSWER_TIERS), j),
            _at(row.get(ANSWER_SPANS), j),
        )
        samples.append(
            {
                "extracted": None if extracted[j] is None else str(extracted[j]),
                "outcome": sample_outcome(flags[j], statuses[j], reasons[j]) if graded else "ungraded",
                "finish_reason": reasons[j],
                "tokens": int(n) if isinstance(n, (int, float)) else None,
                "chars": len(texts[j] or "") + len(_at(row.get("reasoning"), j) or ""),
                "tier": tier,
                "span": list(span) if span else None,
            }
        )
    counted = [f for f, s in zip(flags, statuses, strict=True) if s != "unparseable_gold"]
    gold = row.get("gold", row.get(answer_column))
    return {
        "id": str(row.get("id", "")),
        "problem": _text(row.get("problem", row.get("prompt"))) or "",
        "gold": _text(gold),
        "subject": _text(row.get("subject")),
        "level": _text(row.get("level")),
        "pass_rate": (sum(counted) / len(counted)) if graded and counted else None,
        "disagree": _disagree(row, extracted),
        "samples": samples,
        "texts": [t or "" for t in texts],
        "reasoning": [_at(row.get("reasoning"), j) or "" for j in range(count)],
    }


def find_viewable(target: str | os.PathLike) -> list[Path]:
    """The files ``r1lab view`` renders: a file itself, a benchmark dir's details.jsonl, or a run's."""
    target = Path(target)
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise DataError("no such file or directory", path=str(target))
    for name in ("details.jsonl", "generations.jsonl"):
        if (target / name).is_file():
            return [target / name]
    found = sorted(target.glob("*/details.jsonl")) or sorted(target.glob("*/generations.jsonl"))
    if not found:
        raise DataError(
            "nothing to view: expected details.jsonl / generations.jsonl here or in <benchmark>/ subfolders, "
            "or give a generate/grade output file",
            path=str(target),
        )
    return found


def write_viewer_for(
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    answer_column: str = "answer",
    results: Mapping[str, Any] | None = None,
) -> Path:
    """Render one generate / grade / details file as a self-contained viewer page.

    The default output is ``viewer.html`` beside a details.jsonl (the evaluation's own page), else
    ``<file stem>.viewer.html``. ``results`` (results.json) adds the run's settings to the header;
    it is read from beside the file when present.
    """
    from r1lab.data.stream import open_rows
    from r1lab.report.viewer import write_viewer

    source = Path(source)
    if output is None:
        name = VIEWER_FILE if source.name == "details.jsonl" else source.name.split(".")[0] + ".viewer.html"
        output = source.with_name(name)
    if results is None and (source.parent / "results.json").is_file():
        try:
            results = json.loads((source.parent / "results.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            results = None
    problems = []
    for number, row in enumerate(open_rows(source), start=1):
        if "generations" not in row:
            raise DataError(
                f"no 'generations' column; the row has: {', '.join(row)}", path=str(source), row=number
            )
        problems.append(viewer_problem(row, answer_column=answer_column))
    header = viewer_header(results) if results else {}
    page_title = title or (
        f"{results['benchmark']}: {results.get('model') or 'model'}" if results else source.name
    )
    logger.info("viewer: %d problems from %s -> %s", len(problems), source, output)
    return write_viewer(output, problems, title=page_title, header=header)


def viewer_header(results: Mapping[str, Any]) -> dict[str, str]:
    """The settings a reader of traces wants at hand: model, sampling, score."""
    sampling = results.get("sampling") or {}
    metrics = results.get("metrics") or {}
    out = {
        "model": str(results.get("model")),
        "samples per problem": str(results.get("num_samples")),
        "temperature / top-p": f"{sampling.get('temperature')} / {sampling.get('top_p')}",
        "max tokens": str(sampling.get("max_tokens")),
    }
    if metrics.get("pass@1") is not None:
        se = metrics.get("pass@1_stderr")
        out["pass@1"] = f"{100 * metrics['pass@1']:.1f}" + (f" ± {100 * se:.1f}" if se is not None else "")
    return out
