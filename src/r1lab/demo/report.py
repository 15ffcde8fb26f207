"""The demo's report: ``results.json`` (the numbers), ``report.md`` and a self-contained ``report.html``.

Everything is read back from the files the stages wrote (stage markers, evaluation results and
details, the GRPO metrics.jsonl), so a finished run directory can be re-rendered at any time and
the report can never disagree with the files next to it. The HTML is one file: CSS inline,
plots as base64 PNGs, no JavaScript.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import html
import json
import logging
import os
from pathlib import Path
from typing import Any

from r1lab import __version__
from r1lab.data.io import read_jsonl, write_json
from r1lab.demo.config import MODEL_TITLES, MODELS, STAGE_TITLES, STAGES, DemoConfig
from r1lab.demo.progress import format_seconds
from r1lab.demo.stages import Paths

logger = logging.getLogger(__name__)

SCHEMA = "r1lab-demo-results/1"
PLOTS_DIR = "report_files"
#: The GRPO metrics plotted over steps, in panel order (those present in metrics.jsonl).
CURVE_KEYS = ("reward", "accuracy", "rewards/format", "completion_length", "loss", "entropy")


# --------------------------------------------------------------------------- numbers


def model_numbers(paths: Paths, name: str) -> dict[str, Any] | None:
    """One model's evaluation numbers from its results.json (fractions; lengths in tokens)."""
    path = paths.eval_results(name)
    if not path.exists():
        return None
    results = json.loads(path.read_text(encoding="utf-8"))
    metrics = results.get("metrics", {})
    n = results.get("num_samples")
    lengths = results.get("response_length") or {}
    return {
        "title": MODEL_TITLES[name],
        "model_dir": str(paths.model(name)),
        "num_problems": results.get("num_problems"),
        "num_samples": n,
        "pass@1": metrics.get("pass@1"),
        "pass@1_stderr": metrics.get("pass@1_stderr"),
        "cons@n": metrics.get(f"cons@{n}"),
        "pass@n": metrics.get(f"pass@{n}") if n and n > 1 else metrics.get("pass@1"),
        "truncation_rate": metrics.get("truncation_rate"),
        "length_mean": lengths.get("mean", metrics.get("length_mean")),
        "length_median": lengths.get("median", metrics.get("length_median")),
        "length_p90": lengths.get("p90", metrics.get("length_p90")),
        "shows_working": working_share(details(paths, name)),
        "results_file": str(path),
    }


def working_share(rows: list[dict[str, Any]]) -> float | None:
    """Share of sampled responses whose reasoning shows the column working, not only the result line.

    The demo's cold-start traces come in two styles (``short_trace_fraction``); this share says
    which one a model chose.
    """
    from r1lab.data.tasks import shows_working
    from r1lab.prompts import split_reasoning

    verdicts = []
    for row in rows:
        split_out = row.get("reasoning") or [None] * len(row["generations"])
        for text, reasoning in zip(row["generations"], split_out, strict=True):
            if reasoning is None:  # the server left the <think> block in the text
                reasoning = split_reasoning(text)[0]
            verdicts.append(shows_working(reasoning))
    return sum(verdicts) / len(verdicts) if verdicts else None


def grpo_curve(paths: Paths) -> list[dict[str, Any]]:
    path = paths.grpo / "metrics.jsonl"
    if not path.exists():
        return []
    keep = ("step", *CURVE_KEYS)
    return [{k: row[k] for k in keep if k in row} for row in read_jsonl(path, skip_torn_tail=True)]


def details(paths: Paths, name: str) -> list[dict[str, Any]]:
    path = paths.eval_details(name)
    return list(read_jsonl(path)) if path.exists() else []


def headline(models: dict[str, Any]) -> str:
    """One honest sentence about what GRPO and distillation did to held-out accuracy."""
    cold, grpo, student = (models.get(m) or {} for m in MODELS)
    if cold.get("pass@1") is None or grpo.get("pass@1") is None:
        return "The evaluation did not finish: no accuracy to report."
    before, after = _share(cold["pass@1"]), _share(grpo["pass@1"])
    delta = 100 * (grpo["pass@1"] - cold["pass@1"])
    noise = 100 * ((cold.get("pass@1_stderr") or 0) ** 2 + (grpo.get("pass@1_stderr") or 0) ** 2) ** 0.5
    if delta > 2 * noise and delta > 0:
        verb = f"GRPO lifted held-out pass@1 from {before} to {after} ({delta:+.1f} points)"
    elif delta > 0:
        verb = (
            f"GRPO moved held-out pass@1 from {before} to {after} "
            f"({delta:+.1f} points, within two standard errors: not a clear lift)"
        )
    else:
        verb = f"GRPO did not lift held-out pass@1 in this run: {before} → {after} ({delta:+.1f} points)"
    working_before, working_after = cold.get("shows_working"), grpo.get("shows_working")
    if (
        working_before is not None
        and working_after is not None
        and abs(working_after - working_before) >= 0.1
    ):
        verb += (
            f"; the share of answers that show their working went from {_share(working_before)} "
            f"to {_share(working_after)}"
        )
    tail = (
        f"; the student distilled from its traces reached {_share(student['pass@1'])}"
        if student.get("pass@1") is not None
        else ""
    )
    return verb + tail + "."


def build_results(
    config: DemoConfig, paths: Paths, markers: dict[str, dict[str, Any]], run_seconds: float
) -> dict[str, Any]:
    models = {name: model_numbers(paths, name) for name in MODELS}
    models = {k: v for k, v in models.items() if v is not None}
    stages = []
    for stage in STAGES:
        marker = markers.get(stage)
        if stage == "report" or marker is None:
            continue
        stages.append(
            {
                "name": stage,
                "title": STAGE_TITLES[stage],
                "seconds": round(marker["seconds"], 2),
                "finished": marker.get("finished"),
                "summary": marker.get("summary", {}),
            }
        )
    cold, grpo = models.get("cold_start"), models.get("grpo")
    lift = None
    if cold and grpo and cold.get("pass@1") is not None and grpo.get("pass@1") is not None:
        lift = grpo["pass@1"] - cold["pass@1"]
    return {
        "schema": SCHEMA,
        "r1lab_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "preset": "quick" if config.quick else "full",
        "config": dataclasses.asdict(config),
        "machine": _machine(),
        "task": (markers.get("data") or {}).get("summary", {}),
        "stages": stages,
        "pipeline_seconds": round(sum(s["seconds"] for s in stages), 2),
        "this_run_seconds": round(run_seconds, 2),
        "models": models,
        "grpo_lift": lift,
        "grpo": {**(markers.get("grpo") or {}).get("summary", {}), "curve": grpo_curve(paths)},
        "distill": (markers.get("distill") or {}).get("summary", {}),
        "headline": headline(models),
    }


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except Exception:
        pass
    return info


# --------------------------------------------------------------------------- plots


def draw_plots(config: DemoConfig, paths: Paths, results: dict[str, Any]) -> dict[str, Path]:
    """The report's figures as PNG files under OUTPUT_DIR/report_files/; returns name -> path."""
    from r1lab.report.demo_plots import plot_length_histograms, plot_model_accuracy
    from r1lab.report.plots import plot_curves

    out = paths.root / PLOTS_DIR
    plots: dict[str, Path] = {}
    models = results["models"]
    if models:
        n = next(iter(models.values())).get("num_samples")
        plots["accuracy"] = plot_model_accuracy(
            {m["title"]: m for m in models.values()},
            out / "accuracy.png",
            title=f"Held-out accuracy ({next(iter(models.values())).get('num_problems')} test problems)",
            n_label=str(n),
        )
        per_model = {}
        for name, numbers in models.items():
            rows = details(paths, name)
            lengths = [t for row in rows for t in (row.get("completion_tokens") or [])]
            correct = [c for row in rows for c in row["correct"]][: len(lengths)]
            per_model[numbers["title"]] = (lengths, correct)
        plots["lengths"] = plot_length_histograms(
            per_model, out / "lengths.png", max_tokens=config.max_completion_length
        )
    curve = results["grpo"]["curve"]
    if curve:
        keys = [k for k in CURVE_KEYS if any(k in row for row in curve)]
        plots["grpo"] = plot_curves(
            curve, out / "grpo_curves.png", keys=keys, title="GRPO training, per step"
        )
    return plots


# --------------------------------------------------------------------------- sample traces


def pick_traces(paths: Paths, count: int) -> list[dict[str, Any]]:
    """A few test problems with each model's first sample: those where the models disagree first."""
    per_model = {name: {row["id"]: row for row in details(paths, name)} for name in MODELS}
    per_model = {k: v for k, v in per_model.items() if v}
    if not per_model:
        return []
    ids = sorted(set.intersection(*(set(rows) for rows in per_model.values())))

    def verdicts(pid: str) -> tuple[bool, ...]:
        return tuple(bool(rows[pid]["correct"][0]) for rows in per_model.values())

    disagree = [pid for pid in ids if len(set(verdicts(pid))) > 1]
    chosen = (disagree + [pid for pid in ids if pid not in disagree])[:count]
    traces = []
    for pid in chosen:
        any_row = next(iter(per_model.values()))[pid]
        traces.append(
            {
                "id": pid,
                "problem": any_row["problem"],
                "gold": any_row["gold"],
                "responses": {
                    name: {
                        "text": _full_response(rows[pid]),
                        "extracted": rows[pid]["extracted"][0],
                        "correct": bool(rows[pid]["correct"][0]),
                    }
                    for name, rows in per_model.items()
                },
            }
        )
    return traces


def _full_response(row: dict[str, Any]) -> str:
    """The first sample as the model wrote it: servers that split the reasoning out get it put back."""
    from r1lab.prompts import THINK_END, format_response

    text = row["generations"][0]
    reasoning = (row.get("reasoning") or [None])[0]
    if reasoning and THINK_END not in text:
        return format_response(reasoning, text)
    return text


# --------------------------------------------------------------------------- tables


def stage_rows(results: dict[str, Any]) -> list[list[str]]:
    """The stages table: what each stage produced, the accuracy of the model it made, its wall time."""
    models = results["models"]
    stage_model = {"cold_start": "cold_start", "grpo": "grpo", "distill": "student"}
    rows = []
    for index, stage in enumerate(results["stages"], start=1):
        model = models.get(stage_model.get(stage["name"], ""), {})
        rows.append(
            [
                f"{index}. {stage['title']}",
                stage["summary"].get("line", ""),
                _pct(model.get("pass@1"), model.get("pass@1_stderr")) if model else "",
                _pct(model.get("cons@n")) if model else "",
                _num(model.get("length_mean")) if model else "",
                format_seconds(stage["seconds"]),
            ]
        )
    rows.append(["total", "", "", "", "", format_seconds(results["pipeline_seconds"])])
    return rows


def model_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for m in results["models"].values():
        rows.append(
            [
                m["title"],
                _pct(m.get("pass@1"), m.get("pass@1_stderr")),
                _pct(m.get("cons@n")),
                _pct(m.get("pass@n")),
                _num(m.get("length_mean")),
                _num(m.get("length_median")),
                _num(m.get("length_p90")),
                _pct(m.get("shows_working")),
                _pct(m.get("truncation_rate")),
            ]
        )
    return rows


def _n(results: dict[str, Any]) -> Any:
    models = results["models"]
    return next(iter(models.values())).get("num_samples") if models else "n"


def stage_headers(results: dict[str, Any]) -> list[str]:
    return [
        "stage",
        "what it did",
        "pass@1 (%)",
        f"cons@{_n(results)} (%)",
        "mean length (tokens)",
        "wall time",
    ]


def model_headers(results: dict[str, Any]) -> list[str]:
    n = _n(results)
    return [
        "model",
        "pass@1 (%)",
        f"cons@{n} (%)",
        f"pass@{n} (%)",
        "mean len",
        "median len",
        "p90 len",
        "shows working (%)",
        "truncated (%)",
    ]


# --------------------------------------------------------------------------- rendering


def intro(config: DemoConfig, results: dict[str, Any]) -> str:
    task = results["task"]
    styles = (
        f" {100 * config.short_trace_fraction:.0f}% of the cold-start traces give only the result line "
        "instead of the column working, so the cold start learns both styles and picks one at "
        "random; GRPO, rewarded for the final answer alone, learns which one pays."
        if 0 < config.short_trace_fraction < 1
        else ""
    )
    if config.quick:
        styles += (
            " This is the quick preset, sized to test the pipeline in about two minutes: far too small a run "
            "for the models to learn arithmetic that carries over to unseen problems, so its accuracies say "
            "nothing about the recipe. The full preset (the default) is the demo."
        )
    return (
        f"The DeepSeek-R1 recipe in miniature: a {results['machine'].get('cpus')}-CPU run of every stage on "
        f"{config.digits}-digit arithmetic ({task.get('num_train', '?')} training and {task.get('num_test', '?')} "
        f"held-out problems) with a {config.hidden_size}-wide, {config.num_layers}-layer Qwen3 model trained "
        "from scratch. Cold-start SFT teaches the <think> trace format, GRPO improves the model with accuracy and "
        "format rewards, and the GRPO model, served by a real `transformers serve` on loopback, writes traces "
        f"that are filtered by the grader (rejection sampling) and distilled into a fresh student.{styles} "
        f"All three models answer every test problem {_n(results)} times at temperature {config.temperature:g}, "
        f"top-p {config.top_p:g} (GRPO samples the same way) through the same server path."
    )


def write_report(
    config: DemoConfig, paths: Paths, markers: dict[str, dict[str, Any]], run_seconds: float
) -> dict[str, Any]:
    """Write results.json, report.md and report.html into the output directory; return results.json."""
    from r1lab.report import HtmlPage, markdown_table

    results = build_results(config, paths, markers, run_seconds)
    plots = draw_plots(config, paths, results)
    traces = pick_traces(paths, config.num_traces)
    results["sample_traces"] = traces
    results["plots"] = {name: str(path.relative_to(paths.root)) for name, path in plots.items()}
    write_json(paths.root / "results.json", results)

    # ---- HTML
    page = HtmlPage(f"r1lab demo: R1 in miniature ({results['preset']} preset)", css=_css())
    page.raw(f'<p class="headline">{html.escape(results["headline"])}</p>')
    page.paragraph(intro(config, results), css_class="note")
    page.heading("Stages")
    page.table(stage_headers(results), stage_rows(results), numeric_columns={2, 3, 4, 5})
    page.paragraph(
        "Accuracy is measured on the held-out test set for the model each stage produced; wall time is the "
        "stage's own time (stages finished in an earlier run keep the time they took then).",
        css_class="note",
    )
    if "accuracy" in plots:
        page.image(
            plots["accuracy"],
            caption="pass@1 is the mean correctness over all samples; cons@n the "
            "majority-voted answer per problem; error bars: ±1 standard error over problems.",
        )
    page.heading("Models on the held-out test set")
    page.table(model_headers(results), model_rows(results), numeric_columns=set(range(1, 9)))
    if "grpo" in plots:
        page.heading("GRPO training curves")
        page.image(
            plots["grpo"],
            caption="Per GRPO step: mean reward, accuracy reward, format reward, "
            "completion length (tokens), loss and entropy on the training prompts.",
        )
    if "lengths" in plots:
        page.heading("Response lengths")
        page.image(
            plots["lengths"],
            caption="Response length in tokens per model, correct vs incorrect; "
            "the yellow line is the token limit.",
        )
    distill = results["distill"]
    if distill:
        page.heading("Distillation")
        page.table(
            ["teacher problems", "traces", "kept (correct)", "acceptance", "student SFT steps"],
            [
                [
                    _num(distill.get("problems")),
                    _num(distill.get("generations")),
                    _num(distill.get("kept")),
                    _pct(distill.get("acceptance_rate")),
                    _num((distill.get("student") or {}).get("steps")),
                ]
            ],
            numeric_columns={0, 1, 2, 3, 4},
        )
    if traces:
        page.heading("Sample traces")
        page.paragraph(
            "Test problems where the models disagree come first; each model's first sample.", css_class="note"
        )
        for trace in traces:
            page.raw(_trace_html(trace))
    page.heading("Settings")
    page.raw(
        "<details><summary>configuration and machine</summary><pre>"
        + html.escape(json.dumps({"config": results["config"], "machine": results["machine"]}, indent=2))
        + "</pre></details>"
    )
    page.write(
        paths.root / "report.html",
        footer=f"r1lab {__version__} · {results['created']} · results.json holds every number on this page",
    )

    # ---- Markdown
    (paths.root / "report.md").write_text(
        _markdown(config, results, plots, traces, markdown_table, paths), encoding="utf-8"
    )
    return results


def _trace_html(trace: dict[str, Any]) -> str:
    parts = [
        '<div class="trace">',
        f"<p><b>{html.escape(trace['problem'])}</b> &nbsp; gold answer: <code>{html.escape(trace['gold'])}</code></p>",
        '<div class="trace-row">',
    ]
    for name, response in trace["responses"].items():
        mark = "✓" if response["correct"] else "✗"
        cls = "ok" if response["correct"] else "bad"
        parts.append(
            f'<div class="trace-cell"><div class="trace-head {cls}">{mark} {html.escape(MODEL_TITLES[name])}'
            f" → <code>{html.escape(str(response['extracted']))}</code></div>"
            f"<pre>{html.escape(response['text'])}</pre></div>"
        )
    parts.append("</div></div>")
    return "".join(parts)


def _markdown(config, results, plots, traces, markdown_table, paths: Paths) -> str:
    lines = [
        f"# r1lab demo: R1 in miniature ({results['preset']} preset)",
        "",
        f"**{results['headline']}**",
        "",
        intro(config, results),
        "",
        "## Stages",
        "",
        markdown_table(stage_headers(results), stage_rows(results), numeric_columns={2, 3, 4, 5}),
        "",
    ]
    if "accuracy" in plots:
        lines += [f"![held-out accuracy per model]({results['plots']['accuracy']})", ""]
    lines += [
        "## Models on the held-out test set",
        "",
        markdown_table(model_headers(results), model_rows(results), numeric_columns=set(range(1, 9))),
        "",
    ]
    if "grpo" in plots:
        lines += ["## GRPO training curves", "", f"![GRPO curves]({results['plots']['grpo']})", ""]
    if "lengths" in plots:
        lines += ["## Response lengths", "", f"![response lengths]({results['plots']['lengths']})", ""]
    distill = results["distill"]
    if distill:
        lines += ["## Distillation", "", distill.get("line", ""), ""]
    if traces:
        lines += ["## Sample traces", ""]
        for trace in traces:
            lines += [f"**{trace['problem']}** (gold: `{trace['gold']}`)", ""]
            for name, response in trace["responses"].items():
                mark = "✓" if response["correct"] else "✗"
                lines += [
                    f"{mark} {MODEL_TITLES[name]} → `{response['extracted']}`",
                    "",
                    "```",
                    response["text"],
                    "```",
                    "",
                ]
    lines += ["---", f"r1lab {__version__} · {results['created']} · numbers in results.json", ""]
    return "\n".join(lines)


def _css() -> str:
    from r1lab.report.render import default_css

    return default_css() + (
        ".headline { font-size: 1.15rem; font-weight: 600; background: #ddf4ff; border-left: 4px solid #0969da;"
        " padding: .6rem .9rem; }\n"
        ".trace { border: 1px solid #d0d7de; border-radius: 6px; padding: .4rem .8rem; margin: .8rem 0; }\n"
        ".trace-row { display: flex; gap: .6rem; flex-wrap: wrap; }\n"
        ".trace-cell { flex: 1 1 300px; min-width: 0; }\n"
        ".trace-cell pre { margin: .3rem 0; white-space: pre-wrap; }\n"
        ".trace-head { font-size: .88rem; font-weight: 600; }\n"
        ".trace-head.ok { color: #1a7f37; } .trace-head.bad { color: #cf222e; }\n"
        "details pre { max-height: 24rem; }\n"
    )


def _pct(value: float | None, stderr: float | None = None) -> str:
    from r1lab.report import percent

    return percent(value, stderr)


def _share(value: float) -> str:
    """A fraction as a percentage with a % sign, for sentences (table headers carry it for cells)."""
    return f"{_pct(value)}%"


def _num(value: Any) -> str:
    from r1lab.report import fmt_number

    return fmt_number(value)
