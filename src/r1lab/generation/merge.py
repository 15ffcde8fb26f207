"""Shard manifests, and ``merge_shards``: one output from the shards of a job array, checked.

Each run (``r1lab generate``, sharded or not, each benchmark of ``r1lab evaluate``, the Python
``generate``) writes ``OUT.manifest.json`` next to its output before the first request, from its
``RunSettings`` (``generation/settings.py``): ``run`` holds which input it reads and the sampling
identity, ``environments`` the server and package versions of every session that wrote rows.
``fingerprint`` is a hash of ``run`` (not the shard index, not the environment), so two shards
belong to the same run exactly when their fingerprints match; ``check_manifest`` is the one guard
that refuses to resume an output with another run.

``merge_shards`` refuses shards of different runs (naming the settings that differ), shard files
missing or given twice, rows in the wrong shard, and ids written twice; it rebuilds the input's ids
(from the manifest or ``--input``) to report every id that is missing, with the failed rows' errors.
Rows are copied byte for byte, streamed one shard at a time, so merging a large distillation run
takes little memory. The merged output gets its own manifest (all shards' environments), stats
(summed over shards) and, for an evaluation, the shards' ``settings.json``, so ``r1lab evaluate`` can
resume from it without a server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab import __version__
from r1lab.data.io import write_json
from r1lab.errors import ConfigError, DataError
from r1lab.generation.config import GenerateConfig, sibling_path
from r1lab.generation.settings import RunSettings, check_resume

logger = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".manifest.json"
#: The files an evaluation keeps next to generations.jsonl that must agree across shards.
EVAL_SETTINGS_FILE = "settings.json"
#: Stats fields that add up over shards.
SUMMED_STATS = (
    "rows_total",
    "rows_skipped",
    "rows_done",
    "rows_failed",
    "requests",
    "retries",
    "request_failures",
    "prompt_tokens",
    "completion_tokens",
)


def manifest_path(output: str | os.PathLike) -> Path:
    return sibling_path(Path(output), MANIFEST_SUFFIX)


def generate_inputs(config: GenerateConfig) -> dict[str, Any]:
    """Which rows an ``r1lab generate`` shard reads (its sampling is its ``RunSettings``)."""
    return {
        "kind": "generate",
        "input": config.input,
        "split": config.split,
        "prompt_column": config.prompt_column,
        "id_column": config.id_column,
        "limit": config.limit,
    }


def run_identity(inputs: Mapping[str, Any], settings: RunSettings, num_shards: int) -> dict[str, Any]:
    """A shard's run as the manifest records it: its rows, its sampling and the number of shards.

    Everything here must be equal for two shards to belong to one run, and for a rerun to resume
    an output; the environment (server, package versions) is recorded beside it, not in it.
    """
    return {**inputs, **settings.sampling(), "num_shards": num_shards}


def fingerprint(run: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(run, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def check_manifest(output: str | os.PathLike, run: Mapping[str, Any], shard_index: int) -> None:
    """The resume guard for ``output``: refuse when it holds rows of a run other than ``run``.

    Only an output that already has rows is guarded (an empty one has nothing to mix); the
    comparison is ``settings.check_resume``'s, over the run's identity, plus the shard index.
    """
    path, output = manifest_path(output), Path(output)
    if not (path.exists() and output.exists() and output.stat().st_size > 0):
        return
    before = load_manifest(path)
    previous = {**before.get("run", {}), "shard_index": before.get("shard_index", shard_index)}
    if "sample_seeds" in run and all(env.get("use_n") for env in before.get("environments") or [{}]):
        # sent as one request with n, a row was seeded by the server, seed + i: the rule since then
        previous.setdefault("sample_seeds", run["sample_seeds"])
    check_resume(previous, {**run, "shard_index": shard_index}, str(output))


def write_manifest(
    output: str | os.PathLike,
    inputs: Mapping[str, Any],
    settings: RunSettings,
    shard_index: int = 0,
    num_shards: int = 1,
) -> Path:
    """Record the run next to ``output`` after ``check_manifest``'s guard.

    A resumed run keeps the manifest's earlier environments and appends its own when it differs
    (another transformers, another server), so a file whose rows came from two installs says so.
    """
    run = run_identity(inputs, settings, num_shards)
    check_manifest(output, run, shard_index)
    path = manifest_path(output)
    environments: list[dict[str, Any]] = []
    if path.exists() and Path(output).exists():
        with contextlib.suppress(DataError):
            environments = list(load_manifest(path).get("environments") or [])
    environment = settings.environment()
    if not environments or environments[-1] != environment:
        environments.append(environment)
    manifest = {
        "run": run,
        "fingerprint": fingerprint(run),
        "shard_index": shard_index,
        "num_shards": num_shards,
        "r1lab_version": __version__,
        "settings": settings.to_dict(),
        "environments": environments,
    }
    write_json(path, manifest)
    return path


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the shard manifest ({exc})", path=str(path)) from None
    if not isinstance(data, dict) or "run" not in data or "fingerprint" not in data:
        raise DataError("not an r1lab shard manifest (no 'run'/'fingerprint')", path=str(path))
    return data


def differing(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def iter_lines(path: Path) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(line number, raw line, row) of a shard output; a torn last line (a killed task) is skipped."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:
                if not raw.endswith(b"\n"):
                    logger.warning("%s: skipping a torn last line (a task killed mid-write)", path)
                    return
                raise DataError(f"not valid JSON ({exc})", path=str(path), row=number) from None
            if not isinstance(row, dict) or "id" not in row:
                raise DataError(
                    "row has no 'id'; is this an r1lab generate output?", path=str(path), row=number
                )
            yield number, raw if raw.endswith(b"\n") else raw + b"\n", row


@dataclass
class MergeReport:
    """What ``merge_shards`` found; ``complete`` when every expected row is present exactly once."""

    output: str
    shards: int
    rows: int = 0
    expected: int | None = None
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.duplicates or self.unexpected)

    def summary(self) -> str:
        text = f"{self.output}: {self.rows} rows from {self.shards} shards"
        if self.expected is not None:
            text += f" ({self.expected} expected)"
        for name in ("missing", "duplicates", "unexpected"):
            ids = getattr(self, name)
            if ids:
                text += f"; {len(ids)} {name}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}"
        if self.failed:
            first = next(iter(self.failed.items()))
            text += f"; {len(self.failed)} of the missing rows failed (e.g. {first[0]}: {first[1][:200]})"
        return text


def expected_ids(run: Mapping[str, Any], input_override: str | None = None) -> dict[int, list[str]]:
    """The ids each shard must hold, rebuilt from the input exactly as the shards chose them."""
    from r1lab.generation.inputs import open_source, plan_input, shard_of

    num_shards = int(run.get("num_shards", 1))
    source = input_override or run.get("input")
    if not source:
        raise ConfigError("the shards do not record their input (rows given in Python?); pass --input")
    if run.get("kind") == "evaluate":
        from r1lab.data import load_problems

        problems = load_problems(
            source,
            problem_column=run["problem_column"],
            answer_column=run["answer_column"],
            id_column=run["id_column"],
            split=run["split"],
        )
        ids = [str(i) for i in problems["id"]]
        if run.get("limit") is not None:
            ids = ids[: run["limit"]]
        shards: dict[int, list[str]] = {i: [] for i in range(num_shards)}
        for row_id in ids:
            shards[shard_of(row_id, num_shards)].append(row_id)
        return shards
    known = {f.name for f in GenerateConfig.__dataclass_fields__.values()}
    options = {k: v for k, v in run.items() if k in known and k not in ("prompt_template", "system_prompt")}
    options.update(input=source, output="unused.jsonl", base_urls=["http://unused"], progress=False)
    shards = {}
    rows = None
    for index in range(num_shards):
        config = GenerateConfig(**{**options, "shard_index": index})
        if rows is None:
            rows, name = open_source(config)
        plan = plan_input(config, rows, name, set())
        shards[index] = [plan.ids[i] for i in plan.selected]
    return shards


def merge_shards(
    paths: list[str | os.PathLike],
    output: str | os.PathLike,
    *,
    input: str | None = None,
    allow_missing: bool = False,
) -> MergeReport:
    """Merge the shard outputs ``paths`` into ``output``; see the module docstring for the checks.

    Raises ``ConfigError`` for shards of different runs and ``DataError`` when rows are missing or
    written twice (the report is in the message); with ``allow_missing`` missing rows only warn.
    """
    shard_paths = [Path(p) for p in paths]
    output = Path(output)
    if not shard_paths:
        raise ConfigError("no shard outputs given")
    if output.resolve() in {p.resolve() for p in shard_paths}:
        raise ConfigError(f"{output}: the merged output must not be one of the shards")
    manifests = []
    for path in shard_paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such shard output")
        mpath = manifest_path(path)
        if not mpath.exists():
            raise ConfigError(
                f"{mpath}: missing; shards need the manifest r1lab generate/evaluate writes to be merged"
            )
        manifests.append(load_manifest(mpath))
    first = manifests[0]
    for path, manifest in zip(shard_paths, manifests, strict=True):
        if manifest["fingerprint"] != first["fingerprint"]:
            changed = differing(first["run"], manifest["run"])
            detail = "; ".join(f"{k}: {first['run'].get(k)!r} vs {manifest['run'].get(k)!r}" for k in changed)
            raise ConfigError(
                f"{path} and {shard_paths[0]} are shards of different runs ({detail}); refusing to merge"
            )
    stats = [_read_json(sibling_path(p, ".stats.json")) for p in shard_paths]
    models = {s.get("model") for s in stats if s and s.get("model")}
    if len(models) > 1:
        raise ConfigError(
            f"the shards were generated by different models ({sorted(models)}); refusing to merge"
        )
    environments = _environments(shard_paths, manifests)

    run = first["run"]
    num_shards = int(first.get("num_shards", 1))
    indexes = Counter(int(m["shard_index"]) for m in manifests)
    twice = sorted(i for i, c in indexes.items() if c > 1)
    if twice:
        raise ConfigError(f"shard(s) {twice} given more than once")
    absent = sorted(set(range(num_shards)) - set(indexes))
    if absent and not allow_missing:
        raise DataError(f"shard(s) {absent} of {num_shards} are missing from the inputs; give every shard")

    expected = expected_ids(run, input) if (input or run.get("input")) else None
    report = MergeReport(output=str(output), shards=len(shard_paths))
    seen: set[str] = set()
    dupes: list[str] = []
    wrong_shard: list[str] = []
    tmp = output.with_name(output.name + ".tmp")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as out:
        for path, manifest in zip(shard_paths, manifests, strict=True):
            allowed = set(expected[int(manifest["shard_index"])]) if expected is not None else None
            for _, raw, row in iter_lines(path):
                row_id = str(row["id"])
                if row_id in seen:
                    dupes.append(row_id)
                    continue
                seen.add(row_id)
                if allowed is not None and row_id not in allowed:
                    wrong_shard.append(row_id)
                out.write(raw)
                report.rows += 1
    report.duplicates = dupes
    if expected is not None:
        all_expected = [i for index in sorted(expected) for i in expected[index]]
        report.expected = len(all_expected)
        report.missing = [i for i in all_expected if i not in seen]
        report.unexpected = wrong_shard
    failed_rows = _failed_rows(shard_paths, seen)
    report.failed = {i: str(r.get("error", "")) for i, r in failed_rows.items()}
    problems = report.duplicates or report.unexpected or (report.missing and not allow_missing)
    if problems:
        tmp.unlink()
        raise DataError(f"refusing to merge: {report.summary()}")
    os.replace(tmp, output)
    _write_failed(sibling_path(output, ".failed.jsonl"), failed_rows)
    write_json(sibling_path(output, ".stats.json"), merged_stats(stats, report))
    # The merged output is the whole run as one shard: `r1lab generate --output OUT` with the same
    # settings (and no sharding) may resume it, e.g. to fill rows merged with --allow-missing.
    whole = {**run, "num_shards": 1}
    write_json(
        manifest_path(output),
        {
            **first,
            "run": whole,
            "fingerprint": fingerprint(whole),
            "shard_index": 0,
            "num_shards": 1,
            "environments": environments,
            "merged_from": [str(p) for p in shard_paths],
            "merged_num_shards": num_shards,
        },
    )
    eval_settings = shard_paths[0].parent / EVAL_SETTINGS_FILE
    if eval_settings.exists() and eval_settings.resolve() != (output.parent / EVAL_SETTINGS_FILE).resolve():
        # written from the same RunSettings as the manifest whose fingerprints just matched
        shutil.copyfile(eval_settings, output.parent / EVAL_SETTINGS_FILE)
    logger.info("%s", report.summary())
    return report


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _environments(paths: list[Path], manifests: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every shard's environments (server, package versions), each once; a warning when they differ.

    Shards of one run may run on different installs (the identity fingerprints matched, so they
    sampled alike by request); the merge records them all rather than refusing.
    """
    found: list[dict[str, Any]] = []
    for manifest in manifests:
        for environment in manifest.get("environments") or []:
            if environment not in found:
                found.append(environment)
    if len(found) > 1:
        logger.warning(
            "the %d shards ran on %d different environments (server or package versions); all are "
            "recorded in the merged manifest's 'environments'",
            len(paths),
            len(found),
        )
    return found


def _failed_rows(paths: list[Path], present: set[str]) -> dict[str, dict[str, Any]]:
    failed: dict[str, dict[str, Any]] = {}
    for path in paths:
        fpath = sibling_path(path, ".failed.jsonl")
        if not fpath.exists():
            continue
        for raw in fpath.read_bytes().splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and str(record.get("id")) not in present:
                failed[str(record.get("id"))] = record
    return failed


def _write_failed(path: Path, failed: Mapping[str, Mapping[str, Any]]) -> None:
    if not failed:
        path.unlink(missing_ok=True)
        return
    from r1lab.data.io import write_jsonl

    write_jsonl(path, failed.values())


def merged_stats(stats: list[Mapping[str, Any]], report: MergeReport) -> dict[str, Any]:
    """Counts summed over shards; duration is the slowest shard's (they ran side by side)."""
    merged: dict[str, Any] = {"output": report.output, "shards": len(stats), "rows": report.rows}
    for name in SUMMED_STATS:
        merged[name] = sum(int(s.get(name) or 0) for s in stats)
    durations = [float(s.get("duration_s") or 0) for s in stats]
    duration = max(durations, default=0.0)
    merged["duration_s"] = round(duration, 3)
    if duration > 0:
        merged["completion_tokens_per_s"] = round(merged["completion_tokens"] / duration, 1)
        merged["rows_per_s"] = round(merged["rows_done"] / duration, 2)
    merged["model"] = next((s.get("model") for s in stats if s.get("model")), "")
    merged["interrupted_shards"] = sum(1 for s in stats if s.get("interrupted"))
    merged["missing"] = len(report.missing)
    merged["failed"] = len(report.failed)
    merged["per_shard"] = [dict(s) for s in stats]
    return merged
