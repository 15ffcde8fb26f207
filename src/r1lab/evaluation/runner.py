"""``evaluate(config)``: sample each benchmark through the generation engine, grade, score, report.

The runner owns no client and no grader: generation is ``r1lab.generation.generate`` (so an
evaluation resumes exactly like a generation run: rerun the command and finished problems are
skipped) and grading is ``r1lab.grading.grade_many``. What it adds is the bookkeeping around
them: per-benchmark sample counts, joining generations back to gold answers, the metrics, and
the files in ``OUTPUT_DIR/<benchmark>/``:

- ``generations.jsonl``   the engine's resumable output (plus ``.stats.json``/``.failed.jsonl``)
- ``details.jsonl``       one row per problem: samples, extracted answers, verdicts, tokens
- ``results.json``        settings and the ``metrics`` object (fractions in [0, 1])
- ``settings.json``       the sampling identity of the run's ``RunSettings`` (``generation/settings.py``),
                          which ``generations.manifest.json`` also records and guards on resume
- ``report.md`` / ``report.html``, ``length_hist.png`` and ``budget.png`` (accuracy against budget)
- ``details.parquet``     one row per sample (``datasets.load_dataset("parquet", ...)`` opens it)
- ``viewer.html``         the trace viewer: every sample, filterable, self-contained
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1lab import __version__
from r1lab.data.io import read_jsonl, write_json, write_jsonl
from r1lab.errors import R1labError
from r1lab.evaluation import metrics as M
from r1lab.evaluation.budget import budget_results
from r1lab.evaluation.config import EvalConfig, benchmark_dir_name
from r1lab.evaluation.lengths import count_tokens, tokenizer_candidates
from r1lab.prompts import resolve_template

if TYPE_CHECKING:
    from r1lab.generation.settings import RunSettings

logger = logging.getLogger(__name__)

GENERATIONS_FILE = "generations.jsonl"
DETAILS_FILE = "details.jsonl"
RESULTS_FILE = "results.json"
HISTOGRAM_FILE = "length_hist.png"
#: Columns used for the per-group pass@1 breakdown when a dataset has them (MATH-500 does).
BREAKDOWN_COLUMNS = ("subject", "level")


@contextlib.contextmanager
def _endpoint(
    config: EvalConfig, local: Any = None
) -> Iterator[tuple[EvalConfig, list[str], str | None, str, dict[str, str]]]:
    """(the run's config, base_urls, model name for requests, endpoint label, server kind and version):
    a served local model or the given URLs (``local``: the ``LocalServer`` a caller started behind
    them). For a model served here, the run's config is ``config`` with the concurrency and
    streaming picked for that server; for given URLs the generation run resolves them itself."""
    from r1lab.generation.settings import engine_info

    if config.serve_model:
        from r1lab.generation.engines import serve
        from r1lab.generation.server import server_defaults

        with serve(
            config.serve_model, config.engine, dtype=config.serve_dtype, max_tokens=config.max_tokens
        ) as server:
            info = engine_info(server)
            run_config = dataclasses.replace(config, **server_defaults(config, server))
            yield run_config, [server.base_url], server.model, f"{info['kind']} {config.serve_model}", info
    else:
        info = engine_info(local, config.base_urls[0] if config.base_urls else None)
        yield config, list(config.base_urls), config.model, ", ".join(config.base_urls), info


def evaluate(config: EvalConfig, *, server: Any = None, meter: Any = None) -> list[dict[str, Any]]:
    """Evaluate every benchmark of ``config``; returns the results.json objects, in order.

    ``server``: the ``LocalServer`` behind ``config.base_urls`` when the caller started one (the
    demo does), so the record names it; other servers are probed. ``meter``: a
    ``generation.stats.RunMeter`` each benchmark's generation counts into (a live display reads it).

    With ``config.compare`` the comparison with published scores is also written to
    ``OUTPUT_DIR/compare.md`` (the CLI prints it).
    """
    check_resumes(config)  # every benchmark, before a model is served
    results = []
    with _endpoint(config, server) as (config, base_urls, model, endpoint, engine):
        for benchmark in config.benchmarks:
            results.append(
                evaluate_benchmark(
                    config,
                    benchmark,
                    base_urls=base_urls,
                    model=model,
                    endpoint=endpoint,
                    server=engine,
                    meter=meter,
                )
            )
    if config.compare:
        from r1lab.evaluation.published import compare_table

        path = Path(config.output_dir) / "compare.md"
        path.write_text(compare_table(results), encoding="utf-8")
    return results


def load_benchmark_rows(config: EvalConfig, benchmark: str):
    """The problems of one benchmark (``id``, ``problem``, ``answer`` + source columns), limited."""
    from r1lab.data import load_problems

    problems = load_problems(
        benchmark,
        problem_column=config.problem_column,
        answer_column=config.answer_column,
        id_column=config.id_column,
        split=config.split,
    )
    if len(problems) == 0:
        raise R1labError(f"{benchmark}: the dataset has no problems")
    if config.limit is not None and config.limit < len(problems):
        problems = problems.select(range(config.limit))
    ids = [str(i) for i in problems["id"]]
    duplicates = [i for i, c in Counter(ids).items() if c > 1]
    if duplicates:
        raise R1labError(
            f"{benchmark}: problem ids must be unique, but {duplicates[:3]} repeat; give --id-column or drop duplicates"
        )
    return problems


def evaluate_inputs(config: EvalConfig, benchmark: str) -> dict[str, Any]:
    """Which rows one benchmark's evaluation reads (what ``r1lab merge`` rebuilds the ids from)."""
    return {
        "kind": "evaluate",
        "input": benchmark,
        "problem_column": config.problem_column,
        "answer_column": config.answer_column,
        "id_column": config.id_column,
        "split": config.split,
        "limit": config.limit,
    }


def run_settings(config: EvalConfig, benchmark: str, server: Mapping[str, str] | None = None):
    """One benchmark's ``RunSettings``: the config's sampling with that benchmark's sample count."""
    from r1lab.generation.settings import RunSettings

    num_samples = config.samples_for(benchmark_dir_name(benchmark))
    return RunSettings.from_config(config, num_samples=num_samples, server=server)


def check_resumes(config: EvalConfig, benchmarks: Sequence[str] | None = None) -> None:
    """The resume guard (``generation.merge.check_manifest``) for every benchmark of ``config``.

    Resuming appends to generations.jsonl, so a rerun with another temperature or sample count
    would silently mix two experiments in one score: refused before any work starts.
    """
    from r1lab.generation.merge import check_manifest, run_identity

    for benchmark in config.benchmarks if benchmarks is None else benchmarks:
        run = run_identity(
            evaluate_inputs(config, benchmark), run_settings(config, benchmark), config.num_shards
        )
        output = Path(config.output_dir) / benchmark_dir_name(benchmark) / GENERATIONS_FILE
        check_manifest(output, run, config.shard_index)


def evaluate_benchmark(
    config: EvalConfig,
    benchmark: str,
    *,
    base_urls: Sequence[str],
    model: str | None,
    endpoint: str,
    server: Mapping[str, str] | None = None,
    meter: Any = None,
) -> dict[str, Any]:
    """Generate (resuming), grade and score one benchmark; write its files; return results.json."""
    from r1lab.generation import GenerateConfig, generate

    name = benchmark_dir_name(benchmark)
    out_dir = Path(config.output_dir) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = load_benchmark_rows(config, benchmark)
    if config.num_shards > 1:  # this shard's problems only: the others are not missing, just elsewhere
        from r1lab.generation.inputs import shard_of

        keep = [
            i
            for i, row_id in enumerate(problems["id"])
            if shard_of(str(row_id), config.num_shards) == config.shard_index
        ]
        problems = problems.select(keep)
        logger.info(
            "%s: shard %d of %d holds %d problems", name, config.shard_index, config.num_shards, len(problems)
        )
        if len(problems) == 0:
            raise R1labError(
                f"{name}: shard {config.shard_index} of {config.num_shards} holds no problem; use fewer shards"
            )
    num_samples = config.samples_for(name)
    logger.info("%s: %d problems x %d samples -> %s", name, len(problems), num_samples, out_dir)

    started = time.perf_counter()
    gen_config = GenerateConfig(
        **{**config.request_options(), "base_urls": list(base_urls), "model": model, "serve_model": None},
        output=str(out_dir / GENERATIONS_FILE),
        prompt_column="problem",
        num_generations=num_samples,
        id_column="id",
    )
    settings = run_settings(config, benchmark, server)
    inputs = evaluate_inputs(config, benchmark)
    check_resumes(config, [benchmark])
    write_json(out_dir / SETTINGS_FILE, settings.sampling())
    stats = generate(gen_config, rows=problems, inputs=inputs, settings=settings, meter=meter)
    generation_s = time.perf_counter() - started

    generated = {str(row["id"]): row for row in read_jsonl(out_dir / GENERATIONS_FILE, skip_torn_tail=True)}
    rows, missing = [], []
    for problem in problems:
        # Ids compare as text: the engine writes them as strings whatever the source column held.
        row = generated.get(str(problem["id"]))
        if row is None or not row.get("generations"):
            missing.append(str(problem["id"]))
            continue
        rows.append((problem, row))
    if missing:
        logger.warning(
            "%s: %d of %d problems have no generations (failed requests, see %s.failed.jsonl); "
            "they are left out of the metrics - rerun the same command to retry them",
            name,
            len(missing),
            len(problems),
            GENERATIONS_FILE[: -len(".jsonl")],
        )
    if not rows:
        raise R1labError(f"{name}: no problem got any generation; check the server at {endpoint}")

    grading_started = time.perf_counter()
    details = grade_rows(rows, num_samples, config)
    grading_s = time.perf_counter() - grading_started

    texts = [d["_length_texts"] for d in details]
    token_counts, length_source = count_tokens(
        [row for _, row in rows],
        texts,
        tokenizer_candidates(config.tokenizer, config.serve_model, model),
        max_tokens=config.max_tokens,
    )
    for detail, counts in zip(details, token_counts, strict=True):
        detail["completion_tokens"] = counts
        del detail["_length_texts"]

    results = build_results(
        settings,
        benchmark=name,
        source=benchmark,
        model=config.model or model or (Path(config.serve_model).name if config.serve_model else None),
        endpoint=endpoint,
        details=details,
        num_samples=num_samples,
        missing=missing,
        length_source=length_source,
        timings={
            "wall_time_s": round(time.perf_counter() - started, 3),
            "generation_s": round(generation_s, 3),
            "grading_s": round(grading_s, 3),
        },
        generation_stats=stats.to_dict() if hasattr(stats, "to_dict") else None,
    )
    write_jsonl(out_dir / DETAILS_FILE, details)
    write_json(out_dir / RESULTS_FILE, results)
    from r1lab.evaluation.reporting import write_benchmark_report

    write_benchmark_report(out_dir, results, details)
    logger.info(
        "%s: pass@1 %.1f%% (± %.1f) over %d problems; results in %s, traces in viewer.html",
        name,
        100 * results["metrics"]["pass@1"],
        100 * results["metrics"].get("pass@1_stderr", 0.0),
        results["num_problems"],
        out_dir / RESULTS_FILE,
    )
    return results


def grade_rows(
    rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], num_samples: int, config: EvalConfig
):
    """Grade every sample in one call (`r1lab.grading.rows.grade_samples`, the front door `r1lab
    grade` uses too), then cluster each problem's answers for cons@n."""
    from r1lab.grading.rows import grade_fields, grade_samples, row_finish_reasons

    samples: list[list[str]] = []
    short = 0
    for _, row in rows:
        gens = list(row["generations"])
        short += len(gens) < num_samples
        samples.append([g if isinstance(g, str) else "" for g in gens[:num_samples]])
    if short:
        logger.warning(
            "%d problems have fewer than %d samples; pass@k uses the fewest any problem has",
            short,
            num_samples,
        )
    # a sample cut off at max_tokens counts only an answer it stated; an answer that only restates
    # the problem's expression is no answer
    per_problem = grade_samples(
        samples,
        [str(problem["answer"]) for problem, _ in rows],
        finish_reasons=[row.get("finish_reasons") for _, row in rows],
        problems=[problem.get("problem") for problem, _ in rows],
        timeout=config.grade_timeout,
        workers=config.grade_workers,
    )
    all_clusters = cluster_problems(
        [[g.extracted for g in graded] for graded in per_problem],
        timeout=config.grade_timeout,
        workers=config.grade_workers,
    )

    details = []
    for (problem, row), texts, graded, clusters in zip(rows, samples, per_problem, all_clusters, strict=True):
        reasons = row_finish_reasons(row.get("finish_reasons"), len(texts))
        reasoning = row.get("reasoning")
        if isinstance(reasoning, list) and len(reasoning) >= len(texts):
            length_texts = [f"{r or ''}{t}" for r, t in zip(reasoning, texts, strict=False)]
        else:
            length_texts = texts
        detail = {
            "id": str(problem["id"]),
            "problem": problem["problem"],
            "gold": str(problem["answer"]),
            "generations": texts,
            **grade_fields(graded),
            "clusters": list(clusters),
            "finish_reasons": reasons,
            "completion_tokens": None,
            "_length_texts": length_texts,
        }
        for column in BREAKDOWN_COLUMNS:
            if column in problem and problem[column] is not None:
                detail[column] = problem[column]
        if isinstance(reasoning, list):
            detail["reasoning"] = reasoning[: len(texts)]
        details.append(detail)
    return details


SETTINGS_FILE = "settings.json"


def cluster_problems(
    answers: Sequence[Sequence[str | None]], *, timeout: float, workers: int | None, threads: int = 16
) -> list[list[int | None]]:
    """``cluster_answers`` for every problem, many problems at once.

    Clustering one problem is a chain of small verifier round trips (each new answer against the
    classes so far), which leaves the grading pool idle in between; running problems from several
    threads keeps it busy. The pool is thread-safe. In-process grading (``workers=0``) relies on
    ``signal.alarm``, which only works on the main thread, so it stays sequential.
    """
    from concurrent.futures import ThreadPoolExecutor

    from r1lab.grading import cluster_answers

    def one(problem_answers: Sequence[str | None]) -> list[int | None]:
        return list(cluster_answers(problem_answers, timeout=timeout, workers=workers))

    if workers == 0 or threads <= 1 or len(answers) <= 1:
        return [one(a) for a in answers]
    with ThreadPoolExecutor(max_workers=min(threads, len(answers)), thread_name_prefix="cluster") as pool:
        return list(pool.map(one, answers))


def readable_template(template: str | None) -> str:
    """The user-turn template as people read it: ``{problem}`` kept, ``{{}}`` shown as ``{}``."""
    resolved = resolve_template(template)
    try:
        return resolved.format_map(_KeepFields())
    except (ValueError, IndexError):
        return resolved


class _KeepFields(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def build_results(
    settings: RunSettings,
    *,
    benchmark: str,
    source: str,
    model: str | None,
    endpoint: str,
    details: Sequence[Mapping[str, Any]],
    num_samples: int,
    missing: Sequence[str],
    length_source: str,
    timings: Mapping[str, float],
    generation_stats: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The results.json object of one benchmark; ``sampling`` and ``environment`` come from ``settings``
    (the prompt template shown as people read it: ``{}`` rather than ``{{}}``)."""
    correct = [d["correct"] for d in details]
    lengths = [n for d in details for n in d["completion_tokens"]]
    metrics = M.summarize(
        correct,
        cluster_ids=[d["clusters"] for d in details],
        finish_reasons=[d["finish_reasons"] for d in details],
    )
    breakdowns = {}
    for column in BREAKDOWN_COLUMNS:
        groups = [d.get(column) for d in details]
        if any(g is not None for g in groups):
            breakdowns[column] = M.breakdown(groups, correct)
    statuses = Counter(status for d in details for status in d["grade_status"])
    return {
        "benchmark": benchmark,
        "dataset": source,
        "model": model,
        "endpoint": endpoint,
        "num_problems": len(details),
        "num_missing": len(missing),
        "missing_ids": list(missing)[:50],
        "num_samples": num_samples,
        "sampling": {**settings.sampling(), "prompt_template": readable_template(settings.prompt_template)},
        "environment": settings.environment(),
        "metrics": metrics,
        "breakdown": breakdowns,
        "response_length": {**M.length_stats(lengths), "unit": "tokens", "source": length_source},
        "budget": budget_results([d["completion_tokens"] for d in details], correct, settings.max_tokens),
        "grade_status": dict(statuses),
        **dict(timings),
        "generation": dict(generation_stats) if generation_stats else None,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "r1lab_version": __version__,
    }
