"""The demo's stages that sample through a real local server: prompt selection, distillation, evaluation.

Each serves a model on loopback through the engine seam (``r1lab.generation.engines.serve``:
``transformers serve`` by default, vLLM with ``--engine``),
samples with ``r1lab.generation.generate`` at the run's one sampling setting, and grades with
``r1lab.grading.grade_file``: the same path a user's ``r1lab generate`` / ``grade`` / ``evaluate``
takes. Each returns the small summary that goes into the stage's marker and results.json.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from r1lab.data.io import read_jsonl, write_jsonl
from r1lab.demo.config import MODEL_TITLES, DemoConfig
from r1lab.demo.progress import rows_probe, samples_probe
from r1lab.demo.stages import Paths, Progress, _pct, train_sft_model
from r1lab.errors import ConfigError

logger = logging.getLogger(__name__)


def _problems(path: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` problems of a file, without the programmatic trace (that is training material)."""
    return [
        {"id": row["id"], "problem": row["problem"], "answer": row["answer"]}
        for row in list(read_jsonl(path))[:count]
    ]


def _serve(config: DemoConfig, model: Path):
    """Serve ``model`` with the demo's engine: vLLM in the demo's one dtype; ``transformers serve``'s
    batching and KV-cache share."""
    from r1lab.generation.engines import serve

    options: dict[str, Any] = {"continuous_batching": config.continuous_batching}
    if config.continuous_batching:
        options["cache_memory_fraction"] = config.cache_memory_fraction
    return serve(
        model, config.engine, dtype=config.serve_dtype, max_tokens=config.max_completion_length, **options
    )


def _sample(config: DemoConfig, model: Path, rows: list[dict[str, Any]], output: Path, samples: int):
    """Serve ``model`` and sample ``samples`` answers per row into ``output`` (resumes rows already written)."""
    from r1lab.generation import GenerateConfig, generate
    from r1lab.generation.settings import RunSettings

    with _serve(config, model) as server:
        run = GenerateConfig(
            output=str(output),
            base_urls=[server.base_url],
            model=server.model,
            prompt_template=config.prompt_template,
            system_prompt=config.system_prompt,
            num_generations=samples,
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_completion_length,
            max_concurrent=config.max_concurrent,
            progress=False,
        )
        # the record names the server the demo started (a probe would only see "external")
        settings = RunSettings.from_config(run, num_samples=samples, server=server.engine_info())
        return generate(run, rows=rows, settings=settings)


# --------------------------------------------------------------------------- prompt selection


def run_select(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Keep the training prompts the starting model solves sometimes but not always (Open-R1's pass-rate filter).

    A GRPO group whose completions all earn the same reward has zero advantage everywhere and
    teaches nothing; prompts the model always or never solves make such groups. Sampling the model
    ``select_samples`` times per prompt and keeping a pass rate strictly between 0 and 1 is what
    ``r1lab grade --pass-rate`` does for a whole dataset. With selection off the stage copies the
    training prompts unchanged.
    """
    from r1lab.grading import GradeConfig, grade_file

    pool = _problems(paths.train, config.select_problems if config.select_samples else config.num_train)
    if not config.select_samples:
        write_jsonl(paths.selected, pool)
        return {"selected": len(pool), "pool": len(pool), "line": f"selection off: all {len(pool)} prompts"}
    samples = paths.stage_dir("select") / "samples.jsonl"
    report_progress(rows_probe(samples, len(pool), "problems · pass rate of the starting model"))
    stats = _sample(config, paths.grpo_start(), pool, samples, config.select_samples)
    report_progress(None)
    # Pass rates are multiples of 1/k: this interval keeps exactly the rates strictly inside (0, 1).
    half_step = 0.5 / config.select_samples
    graded = grade_file(
        GradeConfig(
            input=str(samples),
            output=str(paths.stage_dir("select") / "graded.jsonl"),
            pass_rate=[half_step, 1 - half_step],
        )
    )
    kept = list(read_jsonl(paths.stage_dir("select") / "graded.jsonl"))
    # A GRPO step needs this many distinct prompts; with fewer, TRL would run no step at all.
    per_step = config.grpo_batch_size // config.num_generations
    fallback = len(kept) < per_step
    if fallback:  # too few in between: train on the pool rather than on nothing, and say so
        logger.warning(
            "pass-rate selection kept %d prompt(s), fewer than the %d one GRPO step needs: GRPO trains on "
            "all %d sampled prompts",
            len(kept),
            per_step,
            len(pool),
        )
    selected = (
        pool
        if fallback
        else [
            {
                "id": row["id"],
                "problem": row["problem"],
                "answer": row["answer"],
                "pass_rate": sum(row["correct"]) / len(row["correct"]),
            }
            for row in kept
        ]
    )
    write_jsonl(paths.selected, selected)
    share = 1 - graded.rows_out / graded.rows_in if graded.rows_in else None
    return {
        "pool": len(pool),
        "samples_per_prompt": config.select_samples,
        "pass_rate_mean": graded.accuracy,
        "selected": len(selected),
        "zero_variance_prompt_share": share,
        "fallback_to_pool": fallback,
        "generation_seconds": getattr(stats, "duration", None),
        "line": (
            f"{len(pool)} prompts × {config.select_samples} samples · starting model solves "
            f"{_pct(graded.accuracy)} · kept {graded.rows_out} with a pass rate in (0, 1) "
            f"({_pct(share)} always or never solved)"
        ),
    }


# --------------------------------------------------------------------------- distillation


def run_distill(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Serve the GRPO model, sample traces for training problems, keep the correct ones, SFT the student.

    The tiny presets train a fresh tiny model (distillation into a small student, R1's section 2.4);
    a run from a given model fine-tunes that model itself on its GRPO successor's correct traces
    (rejection-sampling SFT, R1's stage 3): a 1M-parameter byte-level student could not learn the
    real model's prose from a few hundred traces within the budget.
    """
    from r1lab.grading import GradeConfig, grade_file

    problems = _problems(paths.train, config.distill_problems)
    report_progress(rows_probe(paths.teacher_generations, len(problems), "problems · GRPO teacher sampling"))
    stats = _sample(config, paths.grpo, problems, paths.teacher_generations, config.distill_samples)
    report_progress(None)
    graded = grade_file(
        GradeConfig(input=str(paths.teacher_generations), output=str(paths.kept), keep="correct")
    )
    if graded.generations_out == 0:
        raise ConfigError(
            "distillation: the GRPO teacher got no training problem right, so there is nothing to distill; "
            "train longer (--sft-steps, --grpo-steps)"
        )
    student = train_sft_model(
        config,
        base=paths.student_base(),
        dataset=paths.kept,
        output=paths.student,
        steps=config.student_steps,
        layout="r1lab",
        report_progress=report_progress,
    )
    return {
        "problems": len(problems),
        "samples_per_problem": config.distill_samples,
        "generations": graded.generations,
        "kept": graded.generations_out,
        "acceptance_rate": graded.accuracy,
        "problems_with_a_kept_trace": graded.rows_out,
        "generation_seconds": getattr(stats, "duration", None),
        "student_base": str(paths.student_base()),
        "student": student,
        "line": (
            f"{graded.generations:,} teacher traces · kept {graded.generations_out:,} correct "
            f"({_pct(graded.accuracy)}) · student SFT {config.student_steps} steps"
        ),
    }


# --------------------------------------------------------------------------- evaluation


def run_evaluate(config: DemoConfig, paths: Paths, report_progress: Progress) -> dict[str, Any]:
    """Score every model on the held-out test set through the same server path: pass@1, cons@n, lengths."""
    from r1lab.evaluation import EvalConfig, evaluate

    num_test = sum(1 for _ in read_jsonl(paths.test))
    models = config.models()
    out: dict[str, Any] = {}
    for number, name in enumerate(models, start=1):
        from r1lab.generation.stats import RunMeter

        meter = RunMeter()  # counts each response as it lands: rows are written only when whole
        label = f"model {number}/{len(models)}: {MODEL_TITLES[name]}"
        output = paths.eval_dir(name) / "test" / "generations.jsonl"
        report_progress(samples_probe(output, meter, num_test, config.eval_samples, label))
        # The demo starts the server itself (evaluate's --serve-model would too) to set its KV-cache share.
        with _serve(config, paths.model(name)) as server:
            engine = server.engine_info()["kind"]
            results = evaluate(
                server=server,
                meter=meter,
                config=EvalConfig(
                    benchmarks=[str(paths.test)],
                    output_dir=str(paths.eval_dir(name)),
                    base_urls=[server.base_url],
                    model=server.model,
                    num_samples=config.eval_samples,
                    temperature=config.temperature,
                    top_p=config.top_p,
                    max_tokens=config.max_completion_length,
                    prompt_template=config.prompt_template,
                    system_prompt=config.system_prompt,
                    max_concurrent=config.max_concurrent,
                    progress=False,
                ),
            )
        metrics = results[0]["metrics"]
        out[name] = {"pass@1": metrics.get("pass@1"), "results": str(paths.eval_results(name))}
    out["line"] = (
        f"{len(models)} models × {num_test} problems × {config.eval_samples} samples through {engine}"
    )
    if config.check_problems:
        report_progress(None)
        check = check_served_sampling(config, paths)
        out["sampling_check"] = check.to_dict()
        out["line"] += (
            f" · GRPO served {_pct(check.served_pass_at_1)} vs in-process {_pct(check.in_process_pass_at_1)}"
            f" on {check.problems} problems"
        )
    return out


def check_served_sampling(config: DemoConfig, paths: Paths):
    """The demo's guard on its own headline: the GRPO model's served pass@1 against in-process sampling.

    The first ``check_problems`` test problems are answered again by ``model.generate`` in this
    process at the same temperature and top-p with the run's seed, graded the same way, and
    compared problem by problem with the served samples (``r1lab.evaluation.inprocess``). A server
    that ignores a request's sampling settings (transformers 5.25 sampled everything at the model
    config's temperature 1.0: GRPO at 28% instead of ~75%) fails the stage with the comparison;
    ``evaluate/sampling_check.json`` keeps it either way.
    """
    from r1lab.data.io import write_json
    from r1lab.errors import R1labError
    from r1lab.evaluation.inprocess import compare_served, grade_samples, sample_in_process

    problems = _problems(paths.test, config.check_problems)
    served = {str(row["id"]): row["correct"] for row in read_jsonl(paths.eval_details("grpo"))}
    rows = sample_in_process(
        paths.grpo,
        problems,
        num_samples=config.check_samples,
        temperature=config.temperature,
        top_p=config.top_p,
        max_tokens=config.max_completion_length,
        prompt_template=config.prompt_template,
        system_prompt=config.system_prompt,
        seed=config.seed,
    )
    write_jsonl(paths.stage_dir("evaluate") / "in_process_generations.jsonl", rows)
    check = compare_served(served, grade_samples(rows, {str(p["id"]): str(p["answer"]) for p in problems}))
    write_json(paths.stage_dir("evaluate") / "sampling_check.json", check.to_dict())
    logger.info("GRPO model: %s", check.describe())
    if not check.agree:
        raise R1labError(
            f"the served evaluation disagrees with in-process sampling of the GRPO model: {check.describe()}. "
            f"The server did not sample at temperature {config.temperature:g}, top-p {config.top_p:g} as "
            "requested (or served another model); the numbers of this run are not the model's"
        )
    return check
