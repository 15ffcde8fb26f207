"""``generate(config)``: one resumable run, from checks to the stats file.

The order matters for the user: every check that can fail (input columns, arguments, the output
lock, reaching each server, one tiny request to catch a wrong model name or key) runs before the
first real request, so a mistake costs seconds, not a night. Ctrl-C or SIGTERM (a Slurm
preemption) cancels the window, and the finished rows are already on disk; the stats file is
written either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from r1lab.data.io import write_json
from r1lab.errors import ConfigError
from r1lab.generation.client import Engine, make_session
from r1lab.generation.config import GenerateConfig
from r1lab.generation.endpoints import Endpoint
from r1lab.generation.engines import serve
from r1lab.generation.inputs import build_request, open_source, plan_input
from r1lab.generation.merge import (
    check_manifest,
    generate_inputs,
    manifest_path,
    run_identity,
    write_manifest,
)
from r1lab.generation.schedule import load_length_prior, prior_order
from r1lab.generation.server import server_defaults
from r1lab.generation.settings import RunSettings, engine_info
from r1lab.generation.stats import GenerationStats, ProgressBar, RunMeter
from r1lab.generation.store import OutputStore

logger = logging.getLogger(__name__)


def generate(
    config: GenerateConfig,
    rows: Any = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    settings: RunSettings | None = None,
    meter: RunMeter | None = None,
) -> GenerationStats:
    """Generate ``config.num_generations`` completions for every row and append them to ``config.output``.

    ``rows`` (a ``datasets.Dataset`` or a list of dicts) replaces ``config.input``. Rerunning with
    the same output resumes; a rerun with other sampling settings is refused (``OUT.manifest.json``
    records the run, see ``generation/merge.py``). A caller that is itself a run (an evaluation)
    passes its own ``inputs`` (which rows) and ``settings`` (its ``RunSettings``) for that record.
    Safe to call from inside a running event loop (e.g. Jupyter): the run then gets its own loop in
    a thread. ``meter``: a `RunMeter` the run counts into, for a caller's own live display (its
    ``samples_done`` grows by one per accepted completion, as each lands).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(agenerate(config, rows, inputs=inputs, settings=settings, meter=meter))
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["stats"] = asyncio.run(
                agenerate(config, rows, inputs=inputs, settings=settings, meter=meter)
            )
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, name="r1lab-generate")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["stats"]


async def agenerate(
    config: GenerateConfig,
    rows: Any = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    settings: RunSettings | None = None,
    meter: RunMeter | None = None,
) -> GenerationStats:
    """The async form of ``generate``."""
    if not config.base_urls and not config.serve_model:
        raise ConfigError("no server: give --base-url URL (repeatable) or --serve-model DIR")
    settings = settings or RunSettings.from_config(config, num_samples=config.num_generations)
    inputs = dict(inputs) if inputs is not None else generate_inputs(config)
    # the one resume guard, before the output is opened: another run's rows are never appended to
    check_manifest(config.output, run_identity(inputs, settings, config.num_shards), config.shard_index)
    source_rows, source = open_source(config, rows)
    output_existed = config.output_path.exists()
    store = OutputStore(config.output_path, config.failed_path)
    meter = meter if meter is not None else RunMeter()
    stats = GenerationStats(output=str(config.output_path), max_concurrent=config.max_concurrent)
    plan = None
    try:
        plan = plan_input(config, source_rows, source, store.done)
        stats.rows_total, stats.rows_skipped = plan.rows_total, plan.rows_skipped
        if config.length_prior and config.schedule in ("auto", "prior"):
            config = _order_by_prior(config, plan)
        retrying = len(set(store.previously_failed) & {plan.ids[i] for i in plan.selected})
        logger.info(
            "%s: %d rows in this shard, %d already in %s, %d to generate%s",
            source,
            plan.rows_total,
            plan.rows_skipped,
            config.output_path,
            len(plan.selected),
            f" ({retrying} failed before and are retried)" if retrying else "",
        )
        if plan.selected:
            with contextlib.ExitStack() as servers:
                server, served = None, {}
                if config.serve_model:
                    server = servers.enter_context(
                        serve(
                            config.serve_model,
                            config.engine,
                            dtype=config.serve_dtype,
                            max_tokens=config.max_tokens,
                        )
                    )
                    # From here on the run talks to that server as to any other.
                    served = {
                        "serve_model": None,
                        "base_urls": [server.base_url],
                        "model": config.model or server.model,
                    }
                config = dataclasses.replace(config, **served, **server_defaults(config, server))
                stats.max_concurrent = config.max_concurrent
                if not settings.server:
                    settings = settings.with_server(engine_info(server, config.base_urls[0]))
                write_manifest(config.output, inputs, settings, config.shard_index, config.num_shards)
                await _run_window(config, plan, store, meter, stats)
        elif not manifest_path(config.output).exists():  # nothing left to do: record the run once
            write_manifest(config.output, inputs, settings, config.shard_index, config.num_shards)
    finally:
        store.close()
        if meter.started or (plan is not None and not plan.selected):
            _finish_stats(stats, meter, config)
            write_json(config.stats_path, stats.to_dict())
        elif not output_existed and config.output_path.stat().st_size == 0:
            config.output_path.unlink()  # a check failed before any work: leave no empty output behind
    logger.info("%s", stats.summary())
    if stats.rows_failed:
        logger.warning(
            "%d rows failed; their errors are in %s; rerun the same command to retry them",
            stats.rows_failed,
            config.failed_path,
        )
    return stats


def _order_by_prior(config: GenerateConfig, plan) -> GenerateConfig:
    """Longest-expected rows first (``schedule.prior_order``); the window then sends them in this order.

    Returns the run's config: without ``length_prior`` where the file holds no length for these rows.
    """
    prior = load_length_prior(config.length_prior, config.output, required=config.schedule == "prior")
    if not prior:  # a directory without this benchmark: 'auto' learns lengths as it goes instead
        return dataclasses.replace(config, length_prior=None)
    ids = [plan.ids[i] for i in plan.selected]
    known = sum(row_id in prior for row_id in ids)
    plan.selected = [plan.selected[i] for i in prior_order(ids, prior)]
    logger.info(
        "schedule: longest-expected first from %s; %d of %d rows have a prior length%s",
        config.length_prior,
        known,
        len(ids),
        " (the others go first)" if known < len(ids) else "",
    )
    if ids and known == 0:
        logger.warning(
            "the length prior %s shares no id with this input; the run is in input order", config.length_prior
        )
    return config


async def _run_window(
    config: GenerateConfig, plan, store: OutputStore, meter: RunMeter, stats: GenerationStats
) -> None:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    sigterm_installed = False
    if threading.current_thread() is threading.main_thread():
        # asyncio's remove_signal_handler resets SIGTERM to the default (die at once), which would
        # drop preempt.install()'s handler for the rest of the process (e.g. the next benchmark
        # of one `r1lab evaluate`): keep the handler that was there and put it back afterwards
        previous_sigterm = signal.getsignal(signal.SIGTERM)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
            sigterm_installed = True
    session = make_session(config)
    progress = None
    try:
        config = await preflight(session, config, plan)
        stats.model = config.model or ""  # the server's own name where none was given
        meter.reset()  # the clock starts with the first real request
        meter.started = True
        engine = Engine(config, plan.iter_rows(), store, meter, lambda row: build_request(config, row))
        progress = ProgressBar(
            meter, len(plan.selected), config.progress, samples_per_row=config.num_generations
        )
        progress.start()
        try:
            await engine.run(session)
        finally:
            stats.endpoints = [
                {"base_url": e.base_url, "requests": e.requests, "failures": e.failures}
                for e in engine.router.endpoints
            ]
    except asyncio.CancelledError:
        stats.interrupted = True
        if terminated:
            raise KeyboardInterrupt from None
        raise
    finally:
        if progress is not None:
            await progress.close()
        await session.close()
        if sigterm_installed:
            loop.remove_signal_handler(signal.SIGTERM)
            if previous_sigterm is not None:
                signal.signal(signal.SIGTERM, previous_sigterm)


async def preflight(session: aiohttp.ClientSession, config: GenerateConfig, plan) -> GenerateConfig:
    """Fail fast: every server reachable, the model known, and one tiny request accepted.

    Returns the run's config, with the server's first model where none was given.
    """
    endpoints = [Endpoint(url.rstrip("/")) for url in config.base_urls]
    probe_timeout = aiohttp.ClientTimeout(total=min(30.0, config.timeout))
    for endpoint in endpoints:
        try:
            async with session.get(endpoint.root_url + "/health", timeout=probe_timeout) as resp:
                await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise ConfigError(
                f"cannot reach the server at {endpoint.base_url}: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from None
    if not config.model:
        config = dataclasses.replace(config, model=await _first_model(session, endpoints[0], probe_timeout))
    _, row = next(plan.iter_rows())
    body = {**build_request(config, row), "max_tokens": 1}
    body.pop("n", None)
    path = "/chat/completions" if config.api == "chat" else "/completions"
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    url = endpoints[0].base_url + path
    try:
        async with session.post(
            url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=config.timeout)
        ) as resp:
            text = (await resp.read()).decode("utf-8", "replace")
            if 400 <= resp.status < 500 and resp.status not in (408, 409, 425, 429):
                raise ConfigError(
                    f"the server at {url} refused a test request (model {config.model!r}): "
                    f"HTTP {resp.status}: {text[:500]}"
                )
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("test request to %s failed (%s); starting anyway, failures will be retried", url, exc)
    return config


async def _first_model(session: aiohttp.ClientSession, endpoint: Endpoint, timeout) -> str:
    url = endpoint.base_url + "/models"
    try:
        async with session.get(url, timeout=timeout) as resp:
            data = await resp.json(content_type=None)
        return str(data["data"][0]["id"])
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, IndexError, TypeError):
        raise ConfigError(f"no --model given and {url} did not list one; pass --model NAME") from None


def _finish_stats(stats: GenerationStats, meter: RunMeter, config: GenerateConfig) -> None:
    duration = max(meter.elapsed(), 1e-9)
    stats.rows_done = meter.rows_done
    stats.rows_failed = meter.rows_failed
    stats.requests = meter.requests
    stats.retries = meter.retries
    stats.request_failures = meter.request_failures
    stats.prompt_tokens = meter.prompt_tokens
    stats.completion_tokens = meter.completion_tokens
    stats.duration_s = round(duration, 3)
    stats.requests_per_s = round(meter.requests / duration, 2)
    stats.completion_tokens_per_s = round(meter.completion_tokens / duration, 1)
    stats.rows_per_s = round(meter.rows_done / duration, 2)
    stats.mean_in_flight = round(meter.mean_in_flight(), 3)
    stats.mean_in_flight_while_input_remains = round(meter.mean_in_flight_while_input(), 3)
    stats.latency_s = meter.latency_percentiles()
    stats.model = stats.model or config.model or ""
    stats.finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
