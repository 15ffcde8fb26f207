"""The per-benchmark report: report.md, report.html, the plots, details.parquet and the trace viewer.

Built from results.json and details.jsonl alone, so ``write_benchmark_report`` can re-render a
finished run (e.g. after a change to the templates) without generating or grading anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from r1lab.report.render import HtmlPage, answer_html, fmt_number, markdown_table, percent, tex_html

HISTOGRAM_FILE = "length_hist.png"
#: Problems the report shows in full (the viewer has every one).
MISSED_SHOWN = 5


def missed_problems(
    details: Sequence[Mapping[str, Any]], count: int = MISSED_SHOWN
) -> list[Mapping[str, Any]]:
    """The first problems no sample solved, those whose samples disagree first: where to start reading."""
    unsolved = [d for d in details if d.get("correct") and not any(d["correct"])]
    split = [d for d in unsolved if len({str(x) for x in d.get("extracted") or []}) > 1]
    return (split + [d for d in unsolved if d not in split])[:count]


def _missed_html(page: HtmlPage, missed: Sequence[Mapping[str, Any]], viewer: str) -> None:
    import html
    from urllib.parse import quote

    for d in missed:
        answers = ", ".join(answer_html(x) for x in d.get("extracted") or [])
        link = f"{viewer}#problem={quote(str(d['id']), safe='')}"
        page.raw(
            f'<div class="missed"><p><a href="{html.escape(link)}"><code>{html.escape(str(d["id"]))}</code></a> gold: '
            f"{answer_html(d.get('gold'))} &nbsp; samples answered: {answers}</p>"
            + tex_html(str(d.get("problem") or ""), css_class="problem-text")
            + "</div>"
        )


def metric_rows(results: Mapping[str, Any]) -> list[list[str]]:
    """(metric, value) rows: pass@k and cons@n with standard errors, truncation, lengths."""
    metrics = results["metrics"]
    rows = []
    for key, value in metrics.items():
        if not key.endswith("_stderr"):
            rows.append([key, percent(value, metrics.get(f"{key}_stderr"))])
    lengths = results.get("response_length") or {}
    for stat in ("mean", "median", "p90", "max"):
        if lengths.get(stat) is not None:
            rows.append([f"length {stat} ({lengths.get('unit', 'tokens')})", fmt_number(lengths[stat])])
    return rows


def breakdown_rows(table: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    return [
        [group, fmt_number(row["num_problems"]), percent(row["pass@1"], row.get("pass@1_stderr"))]
        for group, row in table.items()
    ]


def settings_rows(results: Mapping[str, Any]) -> list[list[str]]:
    sampling = results["sampling"]
    rows = [
        ["model", str(results.get("model"))],
        ["endpoint", str(results.get("endpoint"))],
        ["dataset", str(results.get("dataset"))],
        [
            "problems",
            f"{results['num_problems']}"
            + (f" ({results['num_missing']} missing)" if results.get("num_missing") else ""),
        ],
        ["samples per problem", str(results["num_samples"])],
        ["temperature / top-p", f"{sampling['temperature']} / {sampling['top_p']}"],
        ["max tokens", fmt_number(sampling["max_tokens"])],
        ["system prompt", sampling.get("system_prompt") or "(none)"],
        ["prompt template", sampling["prompt_template"]],
        ["length source", str((results.get("response_length") or {}).get("source"))],
        ["wall time (s)", fmt_number(results.get("wall_time_s"))],
    ]
    return rows


def budget_rows(budget: Mapping[str, Any]) -> list[list[str]]:
    """(budget, pass@1) rows of the results.json ``budget.table``."""
    return [[fmt_number(row["max_tokens"]), percent(row["pass@1"])] for row in budget.get("table") or []]


def _budget_of(results: Mapping[str, Any], details: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """results.json's budget object; computed from details for runs written before it existed."""
    from r1lab.evaluation.budget import budget_results

    if results.get("budget"):
        return dict(results["budget"])
    return budget_results(
        [d.get("completion_tokens") or [0] * len(d["correct"]) for d in details],
        [d["correct"] for d in details],
        results["sampling"].get("max_tokens"),
    )


def write_benchmark_report(
    out_dir: str | os.PathLike, results: Mapping[str, Any], details: Sequence[Mapping[str, Any]]
) -> dict[str, Path]:
    """Write report.md/.html, length_hist.png, budget.png, details.parquet and viewer.html; returns paths."""
    from r1lab.evaluation.budget import BUDGET_PLOT_FILE, plot_budget
    from r1lab.evaluation.published import compare_rows, compare_table, load_published, match_model
    from r1lab.evaluation.samples import DETAILS_PARQUET_FILE, VIEWER_FILE, write_details_parquet
    from r1lab.report.plots import plot_length_histogram

    out_dir = Path(out_dir)
    lengths = [n for d in details for n in (d.get("completion_tokens") or [])]
    correct = [bool(c) for d in details for c in d["correct"]]
    truncated = [r == "length" for d in details for r in d["finish_reasons"]]
    title = f"{results['benchmark']}: {results.get('model') or 'model'}"
    hist = plot_length_histogram(
        lengths,
        out_dir / HISTOGRAM_FILE,
        title=f"Response length, {title}",
        correct=correct if len(correct) == len(lengths) else None,
        truncated=truncated,
        max_tokens=results["sampling"]["max_tokens"],
        unit=(results.get("response_length") or {}).get("unit", "tokens"),
    )
    budget = _budget_of(results, details)
    budget_png = None
    if len(correct) == len(lengths):
        budget_png = plot_budget(
            budget,
            lengths,
            correct,
            out_dir / BUDGET_PLOT_FILE,
            title=f"Accuracy against token budget, {title}",
        )
    parquet = write_details_parquet(out_dir / DETAILS_PARQUET_FILE, details)
    viewer = _write_viewer(out_dir, results, details)
    reach = ", ".join(
        f"{k} of it by {fmt_number(v)}" for k, v in (budget.get("tokens_to_reach") or {}).items() if v
    )
    budget_note = (
        "pass@1 had generation stopped at each budget, read off this run: a sample counts at budget B "
        "when it is correct and finished within B tokens."
        + (f" The run reaches {reach} tokens." if reach else "")
    )

    settings = settings_rows(results)
    metrics = metric_rows(results)
    md = [f"# {title}", "", "## Settings", "", markdown_table(["setting", "value"], settings), ""]
    md += ["## Metrics", "", "Fractions shown as percentages; ± is the standard error across problems.", ""]
    md += [markdown_table(["metric", "value"], metrics, numeric_columns={1}), ""]
    for column, table in (results.get("breakdown") or {}).items():
        md += [
            f"## pass@1 by {column}",
            "",
            markdown_table([column, "problems", "pass@1"], breakdown_rows(table), {1, 2}),
            "",
        ]
    md += ["## Response length", "", f"![response length histogram]({HISTOGRAM_FILE})", ""]
    md += ["## Accuracy against token budget", "", budget_note, ""]
    md += [markdown_table(["budget (tokens)", "pass@1"], budget_rows(budget), {0, 1}), ""]
    if budget_png:
        md += [f"![accuracy against token budget]({BUDGET_PLOT_FILE})", ""]
    md += [
        "## Traces",
        "",
        f"Every sample, filterable: [{VIEWER_FILE}]({VIEWER_FILE}); per-sample rows: `{DETAILS_PARQUET_FILE}`.",
        "",
    ]
    missed = missed_problems(details)
    if missed:
        md += ["## Problems no sample solved", ""]
        md += [
            f"- `{d['id']}` (gold `{d.get('gold')}`; answered "
            + ", ".join(f"`{x}`" for x in d.get("extracted") or [])
            + f"): {str(d.get('problem') or '')[:300]}"
            for d in missed
        ]
        md += [""]
    if match_model(results.get("model")):
        md += ["## Published scores", "", compare_table([dict(results)]), ""]
    report_md = out_dir / "report.md"
    report_md.write_text("\n".join(md), encoding="utf-8")

    page = HtmlPage(title, css=_css(), math=True)
    page.heading("Settings").table(["setting", "value"], settings)
    page.heading("Metrics").paragraph("± is the standard error across problems.", "note")
    page.table(["metric", "value"], metrics, numeric_columns={1})
    for column, table in (results.get("breakdown") or {}).items():
        page.heading(f"pass@1 by {column}").table(
            [column, "problems", "pass@1"], breakdown_rows(table), {1, 2}
        )
    page.heading("Response length").image(
        hist, caption="Response length in tokens, correct and incorrect samples stacked."
    )
    page.heading("Accuracy against token budget").paragraph(budget_note, "note")
    page.table(["budget (tokens)", "pass@1"], budget_rows(budget), numeric_columns={0, 1})
    if budget_png:
        page.image(
            budget_png,
            caption="Left: pass@1 at each budget (exact steps). Right: length of correct and incorrect samples.",
        )
    page.heading("Traces").raw(
        f'<p>Every sample, with filters and search: <a href="{VIEWER_FILE}">{VIEWER_FILE}</a> '
        f"(next to this file). Per-sample rows: <code>{DETAILS_PARQUET_FILE}</code>.</p>"
    )
    if missed:
        page.heading("Problems no sample solved").paragraph(
            f"The first {len(missed)} (samples that disagree first); each id opens the problem in the viewer.",
            "note",
        )
        _missed_html(page, missed, VIEWER_FILE)
    if match_model(results.get("model")):
        headers, rows = compare_rows([dict(results)])
        page.heading("Published scores").table(headers, rows, numeric_columns=set(range(3, len(headers))))
        for source in load_published().sources.values():
            page.paragraph(
                f"{source['label']}: {source['citation']} {source['url']} ({source['protocol']})", "note"
            )
    report_html = page.write(out_dir / "report.html", footer=f"r1lab {results.get('r1lab_version', '')}")
    return {
        "markdown": report_md,
        "html": report_html,
        "histogram": hist,
        "budget": budget_png,
        "parquet": parquet,
        "viewer": viewer,
    }


def _css() -> str:
    from r1lab.report.render import default_css

    return default_css() + (
        ".missed { border: 1px solid #d0d7de; border-radius: 6px; padding: .2rem .8rem; margin: .6rem 0; }\n"
        ".missed .problem-text { white-space: pre-wrap; margin: .3rem 0 .5rem; }\n"
    )


def _write_viewer(out_dir: Path, results: Mapping[str, Any], details: Sequence[Mapping[str, Any]]) -> Path:
    from r1lab.evaluation.samples import VIEWER_FILE, viewer_header, viewer_problem
    from r1lab.report.viewer import write_viewer

    return write_viewer(
        out_dir / VIEWER_FILE,
        [viewer_problem(d) for d in details],
        title=f"{results['benchmark']}: {results.get('model') or 'model'} (traces)",
        header=viewer_header(results),
    )


def report_from_dir(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Re-render a finished benchmark directory's reports from its results.json and details.jsonl."""
    import json

    from r1lab.data.io import read_jsonl
    from r1lab.errors import DataError

    out_dir = Path(out_dir)
    results_path = out_dir / "results.json"
    if not results_path.exists():
        raise DataError("no results.json here; is this an `r1lab evaluate` benchmark dir?", path=str(out_dir))
    results = json.loads(results_path.read_text(encoding="utf-8"))
    details = list(read_jsonl(out_dir / "details.jsonl"))
    return write_benchmark_report(out_dir, results, details)
