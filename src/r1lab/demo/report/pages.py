"""The report pages: ``report.html`` (one self-contained file) and ``report.md``, from results.json."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from r1lab import __version__
from r1lab.data.io import write_json
from r1lab.demo.config import MODEL_TITLES, DemoConfig
from r1lab.demo.report.figures import draw_plots
from r1lab.demo.report.numbers import _num, _pct, build_results
from r1lab.demo.report.tables import _n, model_headers, model_rows, stage_headers, stage_rows
from r1lab.demo.report.traces import pick_traces, trace_html
from r1lab.demo.stages import Paths


def intro(config: DemoConfig, results: dict[str, Any]) -> str:
    task = results["task"]
    if config.real_model:
        return real_model_intro(config, results)
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


def check_text(results: dict[str, Any]) -> str:
    """The served-vs-in-process sentence: the two pass@1 values, their difference and whether they agree."""
    check = results["sampling_check"]
    verdict = "they agree" if check.get("agree") else "they DISAGREE: the server did not sample as asked"
    return f"{check['text']}; {verdict}."


def _model_name(config: DemoConfig, results: dict[str, Any]) -> str:
    """The starting model's directory name (a preset's short name like 'smollm2' resolves to it)."""
    return Path(str((results.get("grpo") or {}).get("start_model") or config.model)).name


def _title(config: DemoConfig, results: dict[str, Any]) -> str:
    if config.real_model:
        return f"r1lab demo: R1-Zero on {_model_name(config, results)} ({results['preset']} preset)"
    return f"r1lab demo: R1 in miniature ({results['preset']} preset)"


def signal_rows(results: dict[str, Any]) -> list[list[str]]:
    """How much GRPO had to learn from: the selection's pass rates and the zero-variance groups while training."""
    select, grpo = results.get("select") or {}, results.get("grpo") or {}
    if results["config"].get("model") is None:  # the tiny presets' report stays as it was
        return []
    rows = []
    if select.get("samples_per_prompt"):
        rows += [
            [
                f"starting model's pass rate on {select['pool']} training prompts × {select['samples_per_prompt']}",
                f"{_pct(select.get('pass_rate_mean'))}%",
            ],
            [
                "prompts always or never solved (dropped)",
                f"{_pct(select.get('zero_variance_prompt_share'))}%",
            ],
            ["prompts GRPO trained on", _num(select.get("selected"))],
        ]
    if grpo.get("zero_variance_group_share") is not None:
        rows.append(
            [
                "GRPO groups with zero reward variance (mean over steps)",
                f"{_pct(grpo['zero_variance_group_share'])}%",
            ]
        )
    for key, label in (
        ("train_accuracy", "GRPO training accuracy"),
        ("train_format", "GRPO training format reward"),
    ):
        if grpo.get(f"{key}_start") is not None:
            rows.append(
                [
                    f"{label}, first → last 5 steps",
                    f"{_pct(grpo[f'{key}_start'])}% → {_pct(grpo[f'{key}_end'])}%",
                ]
            )
    if grpo.get("seconds_per_step"):
        rows.append(["GRPO seconds per step", f"{grpo['seconds_per_step']:.1f}"])
    return rows


def real_model_intro(config: DemoConfig, results: dict[str, Any]) -> str:
    """What a run from a given pretrained model did: R1-Zero, then rejection-sampling SFT of the same model."""
    task, select = results["task"], results.get("select") or {}
    picked = (
        f" GRPO trains on the {select.get('selected')} of {select.get('pool')} training prompts that the "
        f"starting model solved sometimes but not always in {select.get('samples_per_prompt')} samples "
        "(pass-rate selection: a group whose completions all earn the same reward teaches GRPO nothing)."
        if select.get("samples_per_prompt")
        else ""
    )
    rewards = ", ".join(f"{name} × {weight:g}" for name, weight in config.rewards.items())
    return (
        f"R1-Zero on a real pretrained model: GRPO straight from {_model_name(config, results)} (no cold-start "
        f"SFT) on {config.digits}-digit arithmetic ({task.get('num_train', '?')} training and "
        f"{task.get('num_test', '?')} held-out problems), with the rewards {rewards}. The prompt is "
        f"the {config.prompt_template!r} template"
        + (f" with the {config.system_prompt!r} system prompt" if config.system_prompt else "")
        + f" through the model's own chat template.{picked} The GRPO model, served by a real "
        "`transformers serve` on loopback, then answers training problems; the grader keeps the correct "
        "answers and the starting model is fine-tuned on them (the student: rejection-sampling SFT, R1's "
        "stage 3, rather than a fresh small model that could not learn the real model's prose in the budget). "
        f"All three models answer every test problem {_n(results)} times at temperature {config.temperature:g}, "
        f"top-p {config.top_p:g} (GRPO samples the same way) through the same server path; lengths are "
        "in the model's own tokens and ± is one standard error over problems."
    )


def write_report(
    config: DemoConfig, paths: Paths, markers: dict[str, dict[str, Any]], run_seconds: float
) -> dict[str, Any]:
    """Write results.json, report.md and report.html into the output directory; return results.json."""
    from r1lab.report import HtmlPage, markdown_table

    results = build_results(config, paths, markers, run_seconds)
    plots = draw_plots(config, paths, results)
    traces = pick_traces(paths, config.num_traces, config.models())
    results["sample_traces"] = traces
    results["plots"] = {name: str(path.relative_to(paths.root)) for name, path in plots.items()}
    write_json(paths.root / "results.json", results)

    # ---- HTML
    page = HtmlPage(_title(config, results), css=_css(), math=bool(traces))  # traces' LaTeX drawn as math
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
    if results.get("sampling_check"):
        page.paragraph(
            f"Served against in-process sampling (GRPO model): {check_text(results)}", css_class="note"
        )
    if "grpo" in plots:
        page.heading("GRPO training curves")
        page.image(
            plots["grpo"],
            caption="Per GRPO step: mean reward, accuracy reward, format reward, "
            "completion length (tokens), share of groups whose completions all earned the same reward "
            "(frac_reward_zero_std: no gradient from them), loss and entropy on the training prompts.",
        )
    signal = signal_rows(results)
    if signal:
        page.heading("Prompt selection and the GRPO signal")
        page.table(["", "value"], signal, numeric_columns={1})
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
            page.raw(trace_html(trace))
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


def _markdown(config, results, plots, traces, markdown_table, paths: Paths) -> str:
    lines = [
        f"# {_title(config, results)}",
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
    if results.get("sampling_check"):
        lines += [f"Served against in-process sampling (GRPO model): {check_text(results)}", ""]
    if "grpo" in plots:
        lines += ["## GRPO training curves", "", f"![GRPO curves]({results['plots']['grpo']})", ""]
    signal = signal_rows(results)
    if signal:
        lines += ["## Prompt selection and the GRPO signal", "", markdown_table(["", "value"], signal), ""]
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
