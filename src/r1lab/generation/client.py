"""The sliding-window engine: up to C requests in flight, refilled the moment one completes.

Fixed batches leave an inference server idle while each batch waits for its longest generation;
with R1-length completions (thousands of tokens, a long tail past 20k) that idles most of the
slots. Here C worker coroutines share one iterator of requests: a worker whose request finishes
takes the next at once, so C requests stay in flight until the input runs out. A request that must
be retried waits in a heap with its due time, without holding a slot, so backoff never lowers the
concurrency given to the rest. A row's generations (one request with ``n``, or N requests) are
grouped back as they arrive and the row is written as soon as its last one lands.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from r1lab.generation.concurrency import MAX_AUTO_CONCURRENCY, AdaptiveConcurrency
from r1lab.generation.config import GenerateConfig
from r1lab.generation.endpoints import Endpoint, Router, parse_retry_after
from r1lab.generation.probe import warn_if_greedy_differs
from r1lab.generation.schedule import lookahead_rows, make_schedule
from r1lab.generation.server import exited_server_error
from r1lab.generation.stats import RunMeter
from r1lab.generation.store import OutputStore

logger = logging.getLogger(__name__)

#: Statuses worth retrying: rate limits, request timeouts and server-side failures.
RETRYABLE_STATUS = {408, 409, 425, 429}


class RetryableError(Exception):
    """A failure that another attempt may fix (5xx, 429, timeout, dropped connection, bad body)."""

    def __init__(self, message: str, retry_after: float | None = None, down: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.down = down  # the connection was refused: evidence that the server is down


class FatalRequestError(Exception):
    """A failure that repeating will not fix (a 4xx other than 408/409/425/429): the row fails now."""


@dataclass
class RowState:
    """One input row while its generations are in flight."""

    row_id: str
    row: dict[str, Any]
    body: dict[str, Any]
    wanted: int
    generations: list[str] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    reasoning: list[str | None] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Exact per-generation counts when each response held one choice; None where a response
    #: with several choices reported only their sum.
    completion_tokens_per_generation: list[int | None] = field(default_factory=list)
    attempts: int = 0
    finished: bool = False

    def output_row(self) -> dict[str, Any]:
        out = dict(self.row)
        out["id"] = self.row_id
        out["generations"] = self.generations
        out["finish_reasons"] = self.finish_reasons
        out["usage"] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "completion_tokens_per_generation": self.completion_tokens_per_generation,
        }
        if any(r is not None for r in self.reasoning):  # only when the server split the reasoning out
            out["reasoning"] = [r or "" for r in self.reasoning]
        return out


@dataclass
class Job:
    """One request: ``n`` generations for a row from sample ``first`` on, and how many times it has been tried."""

    state: RowState
    n: int
    first: int = 0
    attempt: int = 0

    def body(self) -> dict[str, Any]:
        """The request body: the row's, with this job's ``n`` and, for a seeded run, its own seed.

        A seed in the body (``--extra-body '{"seed": S}'``) is the row's: sample ``i`` gets ``S + i``,
        as vLLM gives the ``i``-th of ``n`` choices (``vllm/v1/engine/parallel_sampling.py``), so a
        row's samples are the same whether they go as one request with ``n`` or one at a time. Sent
        as is to every request, each sample would repeat the first: n copies of one sample.
        """
        body = self.state.body
        seed = body.get("seed")
        if self.first and isinstance(seed, int) and not isinstance(seed, bool):
            body = {**body, "seed": seed + self.first}
        return body if self.n == 1 else {**body, "n": self.n}


def parse_choices(data: Any, api: str) -> tuple[list[tuple[str, str, str | None]], int, int]:
    """(text, finish_reason, reasoning) per choice in index order, and the usage, from a response body.

    Reasoning is the separate ``reasoning_content`` that vLLM and SGLang return with a reasoning
    parser (newer vLLM calls it ``reasoning``); None when the server does not split it out.
    """
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise RetryableError(f"response without choices: {str(data)[:200]}")
    out = []
    for choice in sorted(data["choices"], key=lambda c: c.get("index", 0)):
        if api == "chat":
            message = choice.get("message") or {}
            text = message.get("content") or ""
            reasoning = message.get("reasoning_content") or message.get("reasoning")
        else:
            text, reasoning = choice.get("text") or "", None
        out.append((text, choice.get("finish_reason") or "unknown", reasoning))
    usage = data.get("usage") or {}
    return out, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


class Engine:
    """Runs the requests of an input plan through a sliding window and writes finished rows."""

    def __init__(
        self,
        config: GenerateConfig,
        rows: Iterator[tuple[str, dict[str, Any]]],
        store: OutputStore,
        meter: RunMeter,
        build_request,
    ):
        self.config = config
        self.rows = rows
        self.store = store
        self.meter = meter
        self.build_request = build_request
        self.router = Router(config.base_urls, config.backoff_base, config.backoff_max)
        self.path = "/chat/completions" if config.api == "chat" else "/completions"
        self._fresh: deque[Job] = deque()  # the rest of a row whose server ignored n: sent first
        self._input_left = True
        # Which job goes next (FIFO, or longest-expected first): generation/schedule.py.
        self.schedule = make_schedule(
            config.schedule,
            rows,
            self._make_jobs,
            num_generations=config.num_generations,
            use_n=config.use_n,
            has_prior=config.length_prior is not None,
            lookahead=lookahead_rows(config.max_concurrent),
        )
        self._retry_heap: list[tuple[float, int, Job]] = []
        self._tiebreak = itertools.count()
        self._warned_short_n = False
        self.controller: AdaptiveConcurrency | None = None
        if config.max_concurrent == "auto":
            self.controller = AdaptiveConcurrency(
                [e.root_url for e in self.router.endpoints], max_tokens=config.max_tokens
            )
            self.limit = self.controller.limit
        else:
            self.limit = int(config.max_concurrent)
        self._tasks: set[asyncio.Task] = set()
        self._workers = 0  # workers running
        self._starting = 0  # workers created but not yet run
        self.headers = {"Content-Type": "application/json"}
        if config.api_key:
            self.headers["Authorization"] = f"Bearer {config.api_key}"

    # ---------- the window ----------
    async def run(self, session: aiohttp.ClientSession) -> None:
        """Run workers until the input and the retries are done.

        One worker per slot of the window. The limit may change while the run goes (``auto``):
        a raise starts workers at once, a cut lets the surplus workers end after their request.
        """
        self.session = session
        self._tasks: set[asyncio.Task] = set()
        control = None
        if self.controller is not None:
            control = asyncio.create_task(self.controller.run(session, self.set_limit))
        self.set_limit(self.limit)
        try:
            while self._tasks:
                done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self._tasks.discard(task)
                    task.result()  # a worker's unexpected error ends the run
        finally:
            for task in [*self._tasks, *([control] if control else [])]:
                task.cancel()
            await asyncio.gather(*self._tasks, *([control] if control else []), return_exceptions=True)
            if self.controller is not None:
                logger.info("adaptive concurrency (%s): final window %d", self.controller.mode, self.limit)

    def set_limit(self, limit: int) -> None:
        """Resize the window: start workers up to ``limit``; extra ones stop after their request."""
        self.limit = max(1, limit)
        wanted = self.limit - self._workers - self._starting
        if wanted > 0 and (self._input_left or self._fresh or self._retry_heap):
            self._starting += wanted
            for _ in range(wanted):
                self._tasks.add(asyncio.create_task(self._worker()))

    def _current_limit(self) -> int:
        """The window now: ``auto`` may close it between two polls (a finished request that its
        admission gate does not replace)."""
        if self.controller is not None:
            self.limit = self.controller.limit
        return self.limit

    def _make_jobs(self, row_id: str, row: dict[str, Any]) -> list[Job]:
        state = RowState(row_id, row, self.build_request(row), self.config.num_generations)
        if self.config.use_n:
            return [Job(state, state.wanted)]
        return [Job(state, 1, first=i) for i in range(state.wanted)]

    def _next_fresh(self) -> Job | None:
        if self._fresh:
            return self._fresh.popleft()
        job = self.schedule.next() if self._input_left else None
        if job is None and self._input_left:
            self._input_left = False
            self.meter.mark_input_exhausted()
        return job

    async def _next_job(self) -> Job | None:
        while True:
            heap = self._retry_heap
            if heap and heap[0][0] <= time.monotonic():
                return heapq.heappop(heap)[2]
            job = self._next_fresh()
            if job is not None:
                return job
            if not heap:
                return None
            await asyncio.sleep(max(0.0, heap[0][0] - time.monotonic()))

    async def _worker(self) -> None:
        self._starting -= 1
        self._workers += 1
        try:
            while self._workers <= self._current_limit():  # else the window was cut: this worker ends
                job = await self._next_job()
                if job is None:
                    return
                if job.state.finished:
                    continue
                await self._run_job(job)
                self.schedule.finished(job)
        finally:
            self._workers -= 1

    # ---------- one request ----------
    async def _run_job(self, job: Job) -> None:
        state = job.state
        body = job.body()
        endpoint = await self.router.acquire()
        meter = self.meter
        meter.change_in_flight(1)
        meter.requests += 1
        state.attempts += 1
        started = time.monotonic()
        handle = self.controller.started(job.n, started) if self.controller is not None else None
        outcome = "neutral"
        retry_after, down = None, False
        try:
            data = await self._post(endpoint, body)
            outcome = "ok"
        except RetryableError as exc:
            outcome, retry_after, down = "retry", exc.retry_after, exc.down
            error = f"{endpoint.base_url}: {exc}"
        except FatalRequestError as exc:
            outcome, error = "fatal", f"{endpoint.base_url}: {exc}"
        finally:
            meter.change_in_flight(-1)
            if outcome == "neutral":
                self.router.release_neutral(endpoint)
            else:
                self.router.release(endpoint, ok=outcome != "retry", down=down)
        if outcome == "ok":
            meter.latencies.append(time.monotonic() - started)
            try:
                choices, prompt_tokens, completion_tokens = parse_choices(data, self.config.api)
            except RetryableError as exc:
                outcome, error = "retry", f"{endpoint.base_url}: {exc}"
            else:
                if self.controller is not None:
                    self.controller.observe(completion_tokens, meter.latencies[-1], prompt_tokens, handle)
                self._accept(job, choices, prompt_tokens, completion_tokens)
                return
        if self.controller is not None:
            self.controller.forget(handle)
        meter.request_failures += 1
        if state.finished:
            return
        if outcome == "retry" and job.attempt < self.config.max_retries:
            delay = self.router.retry_delay(endpoint, job.attempt, retry_after)
            job.attempt += 1
            meter.retries += 1
            logger.debug("retry %d of row %s in %.2fs: %s", job.attempt, state.row_id, delay, error)
            heapq.heappush(self._retry_heap, (time.monotonic() + delay, next(self._tiebreak), job))
            return
        self._fail(state, error)

    async def _post(self, endpoint: Endpoint, body: dict[str, Any]) -> Any:
        if self.config.stream:
            body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        try:
            async with self.session.post(
                endpoint.base_url + self.path, json=body, headers=self.headers
            ) as resp:
                if resp.status == 200 and self.config.stream:
                    return await self._read_stream(resp)
                raw = await resp.read()
                status = resp.status
                if status == 200:
                    try:
                        return json.loads(raw)
                    except ValueError:
                        raise RetryableError(
                            f"HTTP 200 with a body that is not JSON: {raw[:200]!r}"
                        ) from None
                message = f"HTTP {status}: {raw[:500].decode('utf-8', 'replace')}"
                if status >= 500 or status in RETRYABLE_STATUS:
                    raise RetryableError(message, parse_retry_after(resp.headers.get("Retry-After")))
                raise FatalRequestError(message)
        except (aiohttp.ClientConnectorError, ConnectionRefusedError) as exc:
            exited = exited_server_error(endpoint.base_url)  # a server r1lab started has died: stop
            if exited is not None:
                raise exited from None
            raise RetryableError(f"cannot connect: {exc}", down=True) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
            kind = "timed out" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            raise RetryableError(f"{kind}: {exc}".rstrip(": ")) from None

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> dict[str, Any]:
        """Read a server-sent-events response into the body a non-streamed request would get.

        Streaming exists for the progress bar: each chunk carrying text is counted as a token in
        ``meter.live_tokens`` the moment it arrives, and the count is corrected to the server's
        ``usage`` when the response ends, so a CPU server minutes away from its first finished
        row still shows tokens moving.
        """
        meter = self.meter
        texts: dict[int, list[str]] = {}
        reasoning: dict[int, list[str]] = {}
        finish: dict[int, str] = {}
        usage: dict[str, Any] = {}
        counted = 0
        async for raw_line in resp.content:
            line = raw_line.strip()
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise RetryableError(f"stream chunk that is not JSON: {payload[:200]!r}") from None
            if not isinstance(chunk, dict) or "error" in chunk:
                raise RetryableError(f"error in the stream: {str(chunk)[:300]}")
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                index = int(choice.get("index") or 0)
                if self.config.api == "chat":
                    delta = choice.get("delta") or {}
                else:
                    delta = {"content": choice.get("text")}
                text = delta.get("content")
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                if text:
                    texts.setdefault(index, []).append(text)
                if thought:
                    reasoning.setdefault(index, []).append(thought)
                if text or thought:
                    counted += 1
                    meter.live_tokens += 1
                if choice.get("finish_reason"):
                    finish[index] = choice["finish_reason"]
        if not finish:
            raise RetryableError("the stream ended before any choice finished")
        meter.live_tokens += int(usage.get("completion_tokens") or counted) - counted
        choices = []
        for index in sorted(finish):
            text = "".join(texts.get(index, []))
            thought = "".join(reasoning.get(index, [])) or None
            if self.config.api == "chat":
                message = {"content": text, "reasoning_content": thought}
                choices.append({"index": index, "message": message, "finish_reason": finish[index]})
            else:
                choices.append({"index": index, "text": text, "finish_reason": finish[index]})
        return {"choices": choices, "usage": usage}

    def _accept(self, job: Job, choices, prompt_tokens: int, completion_tokens: int) -> None:
        state = job.state
        meter = self.meter
        meter.prompt_tokens += prompt_tokens
        meter.completion_tokens += completion_tokens
        if state.finished:
            return
        choices = choices[: job.n]
        meter.samples_done += len(choices)
        for text, finish, reasoning in choices:
            state.generations.append(text)
            state.finish_reasons.append(finish)
            state.reasoning.append(reasoning)
            state.completion_tokens_per_generation.append(completion_tokens if len(choices) == 1 else None)
        state.prompt_tokens += prompt_tokens
        state.completion_tokens += completion_tokens
        short = job.n - len(choices)
        if short > 0:  # the server ignored n (transformers serve does): ask again for the rest
            if not self._warned_short_n:
                logger.warning(
                    "server returned %d of n=%d choices; sending the rest as separate requests "
                    "(run without --use-n to avoid the extra round trips)",
                    len(choices),
                    job.n,
                )
                self._warned_short_n = True
            self._fresh.appendleft(Job(state, short, first=job.first + len(choices)))
            return
        if len(state.generations) >= state.wanted:
            state.finished = True
            warn_if_greedy_differs(state.generations, self.config.temperature, state.row_id)
            self.store.write(state.output_row())
            meter.rows_done += 1

    def _fail(self, state: RowState, error: str) -> None:
        state.finished = True
        self.meter.rows_failed += 1
        logger.warning("row %s failed after %d attempts: %s", state.row_id, state.attempts, error)
        self.store.write_failed({**state.row, "id": state.row_id}, error, state.attempts)


def make_session(config: GenerateConfig) -> aiohttp.ClientSession:
    """One session for the run: a pooled connector sized to the window, a per-request timeout."""
    window = MAX_AUTO_CONCURRENCY if config.max_concurrent == "auto" else int(config.max_concurrent)
    connector = aiohttp.TCPConnector(limit=window + 8, limit_per_host=0, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=config.timeout, sock_connect=min(30.0, config.timeout))
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)
