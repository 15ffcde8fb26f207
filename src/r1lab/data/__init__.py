"""Problem data: bundled benchmarks, any local or hub dataset, JSONL I/O, procedural tasks, cleaning."""

from r1lab.data.benchmarks import (
    BENCHMARKS,
    benchmark_path,
    load_benchmark,
    load_problems,
    normalize_problems,
)
from r1lab.data.convert import ConvertConfig, convert, to_sft_examples
from r1lab.data.decontaminate import DecontaminateConfig, decontaminate
from r1lab.data.dedup import DedupConfig, dedup
from r1lab.data.io import (
    open_dataset,
    read_jsonl,
    require_columns,
    stable_id,
    write_json,
    write_jsonl,
    write_rows,
)

__all__ = [
    "BENCHMARKS",
    "ConvertConfig",
    "DecontaminateConfig",
    "DedupConfig",
    "convert",
    "decontaminate",
    "dedup",
    "to_sft_examples",
    "benchmark_path",
    "load_benchmark",
    "load_problems",
    "normalize_problems",
    "open_dataset",
    "read_jsonl",
    "require_columns",
    "stable_id",
    "write_json",
    "write_jsonl",
    "write_rows",
]
