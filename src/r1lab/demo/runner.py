"""``run_demo(config)``: run the stages in order, skip the finished ones, time each, then write the report.

A stage is finished when its marker file ``OUTPUT_DIR/<stage>/stage.json`` exists and records
the same options the stage depends on (``stage_fingerprint``). The marker is written only after
the stage's outputs are complete, so an interrupted stage is simply run again; the stages
underneath resume what they can (generation and evaluation skip the rows already written).
Changing an option reruns the stages that depend on it and everything after them.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

from r1lab.data.io import write_json
from r1lab.demo import sampling
from r1lab.demo import stages as S
from r1lab.demo.config import STAGE_TITLES, DemoConfig, stage_fingerprint
from r1lab.demo.progress import Display, captured_output, format_seconds, terminal_stream

logger = logging.getLogger(__name__)

MARKER = "stage.json"

StageFn = Callable[[DemoConfig, S.Paths, Callable], dict[str, Any]]

STAGE_FUNCTIONS: dict[str, StageFn] = {
    "data": S.run_data,
    "cold_start": S.run_cold_start,
    "select": sampling.run_select,
    "grpo": S.run_grpo,
    "distill": sampling.run_distill,
    "evaluate": sampling.run_evaluate,
}


def read_marker(paths: S.Paths, stage: str) -> dict[str, Any] | None:
    path = paths.stage_dir(stage) / MARKER
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _is_done(config: DemoConfig, paths: S.Paths, stage: str, redo: bool) -> dict[str, Any] | None:
    marker = read_marker(paths, stage)
    if marker is None or redo:
        return None
    if marker.get("fingerprint") != json.loads(json.dumps(stage_fingerprint(config, stage))):
        logger.info("%s: options changed since it ran; running it again", stage)
        return None
    return marker


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Run the whole pipeline into ``config.output_dir``; return the results.json object.

    Prints one line per stage (what it produced and its wall time) and, on a terminal, a live
    line for the running stage. Each stage's own output goes to ``OUTPUT_DIR/logs/<stage>.log``.
    """
    from r1lab.demo.report import write_report

    config.validate()
    paths = S.Paths(config.output_dir, S.start_model_dir(config))
    paths.root.mkdir(parents=True, exist_ok=True)
    stages = config.stages()
    # The stages' own chatter goes to log files unless the user asked for it with -v.
    quiet_stages = logging.getLogger().getEffectiveLevel() > logging.DEBUG
    stream = terminal_stream()
    display = Display(len(stages), live=stream.isatty() and config.progress, stream=stream)
    display.message(
        f"r1lab demo → {paths.root}  ({config.preset} preset{_start(paths)}, "
        f"{os.cpu_count()} CPUs, {_torch_threads()} torch threads)"
    )
    redo_from = stages.index(config.rerun_from) if config.rerun_from else len(stages)
    started = time.monotonic()
    markers: dict[str, dict[str, Any]] = {}
    changed_upstream = False
    try:
        for index, stage in enumerate(stages, start=1):
            title = STAGE_TITLES[stage]
            if stage == "report":  # cheap, and always drawn from the current files
                continue
            redo = changed_upstream or index - 1 >= redo_from
            marker = _is_done(config, paths, stage, redo)
            if marker is not None:
                markers[stage] = marker
                display.finish(
                    index, title, marker["summary"].get("line", ""), marker["seconds"], cached=True
                )
                continue
            stage_dir = paths.stage_dir(stage)
            # A generation stage that was interrupted resumes its rows (the generation client's resume
            # guard refuses rows of other settings). One that finished before, or whose inputs were just
            # rebuilt, starts afresh: its rows came from a model that no longer exists under the same path,
            # which that guard cannot see. A training stage always starts afresh (a half-written model).
            resumable = (
                stage in ("select", "distill", "evaluate") and not redo and read_marker(paths, stage) is None
            )
            if stage_dir.exists() and not resumable:
                shutil.rmtree(stage_dir)
            changed_upstream = True  # everything after a rerun stage must rerun too
            stage_dir.mkdir(parents=True, exist_ok=True)
            display.start(index, title)
            t0 = time.monotonic()
            try:
                with captured_output(paths.root / "logs" / f"{stage}.log", enabled=quiet_stages):
                    summary = STAGE_FUNCTIONS[stage](config, paths, display.set_probe)
            except BaseException:
                display.fail(index, title, time.monotonic() - t0)
                if quiet_stages:
                    display.message(f"  its output is in {paths.root / 'logs' / (stage + '.log')}")
                raise
            seconds = time.monotonic() - t0
            marker = {
                "stage": stage,
                "seconds": seconds,
                "fingerprint": stage_fingerprint(config, stage),
                "summary": summary,
                "finished": _now(),
            }
            write_json(stage_dir / MARKER, marker)
            markers[stage] = marker
            display.finish(index, title, summary.get("line", ""), seconds)
        index = stages.index("report") + 1
        display.start(index, STAGE_TITLES["report"])
        t0 = time.monotonic()
        with captured_output(paths.root / "logs" / "report.log", enabled=quiet_stages):
            results = write_report(config, paths, markers, run_seconds=time.monotonic() - started)
        seconds = time.monotonic() - t0
        display.finish(index, STAGE_TITLES["report"], f"{paths.root / 'report.html'}", seconds)
        display.message(_closing_lines(results, time.monotonic() - started))
        return results
    finally:
        display.close()
        _shutdown_grading_pool()


def _start(paths: S.Paths) -> str:
    return f", starting from {paths.start_model}" if paths.start_model is not None else ""


def _closing_lines(results: dict[str, Any], total: float) -> str:
    headline = results.get("headline", "")
    check = results.get("sampling_check")
    checked = f"\nserved vs in-process (GRPO model): {check['text']}" if check else ""
    return f"\n{headline}{checked}\ntotal wall time {format_seconds(total)} (this run; see report for every stage)"


def _shutdown_grading_pool() -> None:
    """The grading workers belong to this run: stop them so nothing outlives the demo."""
    try:
        from r1lab.grading import shutdown_pool

        shutdown_pool()
    except Exception:  # never let cleanup hide the real error
        logger.debug("grading pool shutdown failed", exc_info=True)


def _torch_threads() -> int | str:
    try:
        import torch

        return torch.get_num_threads()
    except Exception:
        return "?"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
