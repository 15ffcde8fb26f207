"""The options of an evaluation run, with DeepSeek-R1's published protocol as the defaults.

DeepSeek-R1 (paper section 3.1 and the model cards) evaluates with temperature 0.6, top-p 0.95,
up to 32,768 generated tokens, no system prompt, and the user turn "{problem}\\nPlease reason step
by step, and put your final answer within \\boxed{}."; pass@1 is averaged over several samples
per problem. Here that is 64 samples for the small contest sets (AIME 24/25, AMC 23), where one
sample per problem leaves a standard error of several points, and 4 for MATH-500 and GSM8K (the
sample counts Open-R1 settled on). Every default can be overridden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from r1lab.errors import ConfigError
from r1lab.generation.config import RequestOptions

#: Samples per problem when ``num_samples`` is not given, per bundled benchmark.
DEFAULT_SAMPLES: dict[str, int] = {"aime24": 64, "aime25": 64, "amc23": 64, "math500": 4, "gsm8k": 4}
#: Samples per problem for datasets that are not bundled benchmarks.
FALLBACK_SAMPLES = 4


@dataclass(kw_only=True)
class EvalConfig(RequestOptions):
    """One evaluation run: which benchmarks, which model server, how to sample, where to write.

    The server, sampling, window and retry options come from ``RequestOptions`` (shared with
    ``r1lab generate``); only the defaults DeepSeek's protocol sets differently are redeclared here.
    """

    benchmarks: list[str] = field(
        default_factory=lambda: ["math500"],
        metadata={
            "help": "bundled benchmark names (math500, aime24, aime25, amc23, gsm8k), local JSONL/JSON/"
            "Parquet/CSV files, or Hugging Face dataset ids (org/name[:config]) with problem and answer columns"
        },
    )
    output_dir: str = field(default="runs/eval", metadata={"help": "results go to OUTPUT_DIR/<benchmark>/"})
    num_samples: int | None = field(
        default=None,
        metadata={
            "help": "samples per problem (default: 64 for aime24/aime25/amc23, 4 for math500/gsm8k/others)"
        },
    )
    max_tokens: int = field(
        default=32768, metadata={"help": "maximum generated tokens per sample (DeepSeek: 32768)"}
    )
    prompt_template: str = field(
        default="math",
        metadata={
            "help": "user-turn template: 'math' (DeepSeek's step-by-step/boxed instruction), 'plain', or text with {problem}"
        },
    )
    timeout: float = field(
        default=3600.0, metadata={"help": "seconds one request may take before it is retried"}
    )
    problem_column: str = field(
        default="problem", metadata={"help": "problem column of a non-bundled dataset"}
    )
    answer_column: str = field(
        default="answer", metadata={"help": "gold answer column of a non-bundled dataset"}
    )
    id_column: str | None = field(default=None, metadata={"help": "id column of a non-bundled dataset"})
    split: str = field(default="test", metadata={"help": "split of a Hugging Face dataset"})
    limit: int | None = field(
        default=None, metadata={"help": "evaluate only the first N problems of each benchmark"}
    )
    grade_timeout: float = field(
        default=5.0, metadata={"help": "seconds math-verify may spend on one answer"}
    )
    grade_workers: int | None = field(
        default=None, metadata={"help": "grading processes (default: CPU count)"}
    )
    tokenizer: str | None = field(
        default=None,
        metadata={"help": "tokenizer to count response tokens when the server reports no per-sample counts"},
    )
    compare: bool = field(
        default=False, metadata={"help": "print the run beside published R1-Distill scores"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.benchmarks, str):
            self.benchmarks = [self.benchmarks]
        self.output_dir = str(self.output_dir)
        self.validate()

    def validate(self) -> None:
        self.validate_requests()
        checks = [
            (bool(self.benchmarks), "benchmarks: give at least one benchmark"),
            (self.num_samples is None or self.num_samples >= 1, "num_samples must be >= 1"),
            (self.limit is None or self.limit >= 1, "limit must be >= 1"),
            (self.grade_timeout > 0, "grade_timeout must be > 0"),
            (
                bool(self.base_urls) or bool(self.serve_model),
                "give --base-url URL (with --model) or --serve-model DIR",
            ),
            (not (self.base_urls and self.serve_model), "give either --base-url or --serve-model, not both"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if len(set(map(benchmark_dir_name, self.benchmarks))) != len(self.benchmarks):
            raise ConfigError(f"benchmarks: two of {self.benchmarks} would write to the same directory")

    def samples_for(self, benchmark: str) -> int:
        """Samples per problem for one benchmark: the override, else DeepSeek's protocol default."""
        if self.num_samples is not None:
            return self.num_samples
        return DEFAULT_SAMPLES.get(benchmark, FALLBACK_SAMPLES)


def benchmark_dir_name(benchmark: str) -> str:
    """The directory name for a benchmark's results: its name, or a file's stem, or a cleaned HF id."""
    if benchmark in DEFAULT_SAMPLES:
        return benchmark
    path = Path(benchmark)
    if path.suffix.lower() in (".jsonl", ".json", ".parquet", ".csv"):
        return re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", benchmark.strip("/")) or "dataset"
