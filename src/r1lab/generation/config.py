"""The options of one generation run, shared by ``r1lab generate`` and the Python API.

Every field is a command-line option (``--max-concurrent 256``) and a YAML key, through
``r1lab.config``. Defaults follow DeepSeek-R1's sampling advice (temperature 0.6, top-p 0.95).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from r1lab.errors import ConfigError
from r1lab.generation.server import CPU_CONCURRENCY, REMOTE_CONCURRENCY


@dataclass
class RequestOptions:
    """What every run that sends prompts to a server shares: servers, sampling, the window, retries.

    ``GenerateConfig`` and ``EvalConfig`` both derive from it, so an option added here reaches
    ``r1lab generate`` and ``r1lab evaluate`` alike (each may change a default by redeclaring it).
    """

    base_urls: list[str] = field(
        default_factory=list,
        metadata={
            "help": "OpenAI-compatible base URL(s), e.g. http://host:8000/v1; repeat for several servers"
        },
    )
    model: str | None = field(
        default=None, metadata={"help": "model name sent in requests (default: the server's first model)"}
    )
    serve_model: str | None = field(
        default=None,
        metadata={
            "help": "start a server on this local model dir (or .gguf file) for the run and stop it after "
            "(the engine: --engine)"
        },
    )
    engine: str = field(
        default="auto",
        metadata={
            "help": "engine --serve-model starts: 'vllm', 'transformers' or 'auto' (vLLM where a vLLM "
            "environment is installed and the machine has vLLM builds, else transformers serve; docs/generation.md)"
        },
    )
    serve_dtype: str | None = field(
        default=None,
        metadata={
            "help": "dtype of a vLLM server started by --serve-model (default on a CPU: bfloat16 for a GGUF "
            "import, measured as accurate and faster; float32 for any other model, whose greedy output equals "
            "offline greedy; 'auto' on a GPU)"
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "system prompt, literally or by name ('r1'; 'r1-example' adds one worked example turn, 'example' is that turn alone); none by default"
        },
    )
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "user-turn template with {problem} (or any column): 'math' (default: DeepSeek's "
            "step-by-step/boxed instruction), 'plain', or literal text"
        },
    )
    temperature: float = field(default=0.6, metadata={"help": "sampling temperature (DeepSeek: 0.6)"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling top-p (DeepSeek: 0.95)"})
    max_tokens: int = field(default=8192, metadata={"help": "maximum completion tokens per generation"})
    max_tokens_column: str | None = field(
        default=None,
        metadata={
            "help": "column giving a row its own max_tokens (per-problem length budgets; with "
            "extra_body ignore_eos, an exact length); rows without a value use --max-tokens"
        },
    )
    max_concurrent: int | Literal["auto"] | None = field(
        default=None,
        metadata={
            "help": "requests in flight at once, over all servers (the sliding window); 'auto' adapts "
            "it to the server's KV cache (Prometheus /metrics) or, without metrics, to throughput; "
            f"default: picked for the server ({CPU_CONCURRENCY} for a CPU model served by r1lab, "
            f"{REMOTE_CONCURRENCY} for --base-url servers)"
        },
    )
    timeout: float = field(
        default=900.0, metadata={"help": "seconds one request may take before it is retried"}
    )
    max_retries: int = field(
        default=5, metadata={"help": "retries of a request (429, 5xx, timeouts, dropped connections)"}
    )
    backoff_base: float = field(
        default=1.0,
        metadata={"help": "first retry waits up to this many seconds; doubles each retry (jittered)"},
    )
    backoff_max: float = field(default=60.0, metadata={"help": "longest wait between retries, in seconds"})
    api_key: str | None = field(
        default=None, metadata={"help": "bearer token for the servers (default: $OPENAI_API_KEY, if set)"}
    )
    api: Literal["chat", "completions"] = field(
        default="chat",
        metadata={
            "help": "'chat' (/chat/completions with messages) or 'completions' (/completions with text)"
        },
    )
    use_n: bool = field(
        default=False,
        metadata={"help": "ask for all generations of a row in one request with n (prefix-cache friendly)"},
    )
    extra_body: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "JSON object merged into every request body (e.g. stop, seed, chat_template_kwargs); "
            "a seed S is the row's: its i-th sample is asked with S + i, as vLLM seeds the i-th of n choices"
        },
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    schedule: Literal["auto", "fifo", "prior", "adaptive"] = field(
        default="auto",
        metadata={
            "help": "which request goes next: 'auto' (longest-expected first: from --length-prior when "
            "given, else learned from each row's first samples), 'prior', 'adaptive', or 'fifo' (input order)"
        },
    )
    length_prior: str | None = field(
        default=None,
        metadata={
            "help": "an earlier run's lengths for the same ids (generations JSONL, evaluation details.jsonl "
            "or output dir): rows expected longest are sent first, so the run ends without a long tail"
        },
    )
    # Sharding is shared so that `r1lab evaluate` splits its problems across a Slurm job array
    # exactly as `r1lab generate` splits its input (by a hash of the row id).
    shard_index: int = field(default=0, metadata={"help": "this job's shard, 0 <= i < num_shards"})
    num_shards: int = field(
        default=1, metadata={"help": "split the input into this many shards by a hash of the row id"}
    )
    stream: bool | None = field(
        default=None,
        metadata={
            "help": "stream responses so progress counts tokens as they are generated (default: on for a "
            "model served by r1lab, off for --base-url servers)"
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.base_urls, str):
            self.base_urls = [self.base_urls]
        if isinstance(self.extra_body, str):
            try:
                self.extra_body = json.loads(self.extra_body)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"extra_body: not valid JSON: {exc}") from None
        if not isinstance(self.extra_body, dict):
            raise ConfigError("extra_body: must be a JSON object")
        if self.serve_model is not None:
            self.serve_model = str(self.serve_model)
        if self.length_prior is not None:
            self.length_prior = str(self.length_prior)
        if self.api_key is None:
            self.api_key = os.environ.get("OPENAI_API_KEY")

    def validate_requests(self) -> None:
        """Reject bad request options before any work starts; the message says which option and why."""
        checks = [
            (
                self.max_concurrent in (None, "auto") or self.max_concurrent >= 1,
                "max_concurrent must be >= 1 or 'auto'",
            ),
            (self.max_tokens >= 1, "max_tokens must be >= 1"),
            (self.timeout > 0, "timeout must be > 0"),
            (self.max_retries >= 0, "max_retries must be >= 0"),
            (self.backoff_base >= 0 and self.backoff_max >= 0, "backoff_base and backoff_max must be >= 0"),
            (self.temperature >= 0, "temperature must be >= 0"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.api in ("chat", "completions"), "api must be 'chat' or 'completions'"),
            (
                self.engine in ("auto", "vllm", "transformers"),
                "engine must be 'auto', 'vllm' or 'transformers'",
            ),
            (
                self.schedule in ("auto", "fifo", "prior", "adaptive"),
                "schedule must be 'auto', 'fifo', 'prior' or 'adaptive'",
            ),
            (
                self.schedule != "prior" or bool(self.length_prior),
                "schedule 'prior' needs --length-prior FILE",
            ),
            (self.num_shards >= 1, "num_shards must be >= 1"),
            (0 <= self.shard_index < self.num_shards, "shard_index must be in [0, num_shards)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        for url in self.base_urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"base_url {url!r} must start with http:// or https://")
        if self.length_prior and not Path(self.length_prior).exists():
            raise ConfigError(f"length_prior: {self.length_prior} does not exist")
        if self.base_urls and self.serve_model:
            raise ConfigError("give either base_urls or serve_model, not both")

    def request_options(self) -> dict[str, Any]:
        """This run's shared options as keyword arguments (to derive a GenerateConfig from an EvalConfig)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(RequestOptions)}


@dataclass(kw_only=True)
class GenerateConfig(RequestOptions):
    """One generation run: where prompts come from, which servers answer them, how to sample."""

    output: str = field(metadata={"help": "output JSONL file; rerunning the same command resumes it"})
    input: str | None = field(
        default=None,
        metadata={
            "help": "bundled benchmark name (math500, aime24, ...), local JSONL/JSON/Parquet/CSV, or HF id"
        },
    )
    prompt_column: str = field(
        default="problem",
        metadata={"help": "column holding the prompt text (or a list of chat messages)"},
    )
    num_generations: int = field(default=1, metadata={"help": "generations per row"})
    id_column: str | None = field(
        default=None,
        metadata={
            "help": "column holding a unique row id (default: the 'id' column if any, else a hash of the prompt)"
        },
    )
    split: str = field(default="train", metadata={"help": "split of a Hugging Face dataset input"})
    limit: int | None = field(default=None, metadata={"help": "only the first N rows of the (sharded) input"})

    def __post_init__(self) -> None:
        super().__post_init__()
        self.output = str(self.output)
        if self.input is not None:
            self.input = str(self.input)
        self.validate()

    def validate(self) -> None:
        """Reject bad values before any work starts; the message says which option and why."""
        self.validate_requests()
        checks = [
            (self.num_generations >= 1, "num_generations must be >= 1"),
            (self.limit is None or self.limit >= 0, "limit must be >= 0"),
            (bool(self.output), "output is required"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.output.endswith(".parquet"):
            raise ConfigError("output must be a .jsonl file (appended row by row, so a crash loses nothing)")

    @property
    def output_path(self) -> Path:
        return Path(self.output)

    @property
    def failed_path(self) -> Path:
        """``OUT.failed.jsonl``: rows that exhausted their retries, with the error; retried on rerun."""
        return sibling_path(self.output_path, ".failed.jsonl")

    @property
    def stats_path(self) -> Path:
        """``OUT.stats.json``: the run's numbers (duration, requests, tokens/s, mean in flight)."""
        return sibling_path(self.output_path, ".stats.json")


def sibling_path(output: Path, suffix: str) -> Path:
    """``out.jsonl`` -> ``out<suffix>``: the files that travel with an output file."""
    stem = output.name[: -len(".jsonl")] if output.name.endswith(".jsonl") else output.name
    return output.with_name(stem + suffix)
