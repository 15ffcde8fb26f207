"""Rebuild the real-output grading corpus from the public repositories named in SOURCES.md.

Each source repository must be a local bare git mirror (``git show <commit>:<path>`` is all this
reads). Usage::

    python tests/grading/corpus/build_corpus.py --mirrors /work/.mirror --out shared/grading-corpus

Every row keeps the source's own correctness label; nothing here grades. The response ``format``
is read from the response text by the rules in ``_format_of`` (documented in SOURCES.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("build_corpus")

SKY = "NovaSky-AI/SkyThought"
SKY_QWEN_COMMIT = "6840eb7"  # full hash resolved at build time and written to the manifest
SKY_TOOLS_COMMIT = "7d33531"
TORA = "microsoft/ToRA"
TORA_COMMIT = "213c1c9"

QWEN_OUT = "skythought/Qwen2.5-Math/evaluation/outputs/"
#: Qwen2.5-Math harness outputs committed in SkyThought: (model directory, benchmark) pairs kept.
SKY_QWEN_FILES = [
    ("Qwen/Qwen2.5-14B-Instruct", "math500", "qwen25-math-cot"),
    ("Qwen/Qwen2.5-14B-Instruct", "minerva_math", "qwen25-math-cot"),
    ("Qwen/Qwen2.5-Math-7B", "math500", "qwen25-math-cot"),
    ("google/gemma-2-27b-it", "math500", "qwen25-math-cot"),
    ("google/gemma-2-27b-it", "amc23", "qwen25-math-cot"),
    ("meta-llama/Llama-3.1-8B", "aime24", "qwen25-math-cot"),
    ("meta-llama/Llama-3.1-8B", "amc23", "qwen25-math-cot"),
    ("home/ubuntu/skyov1-dl/Sky-T1-math-correct-5K-27B", "math500", "Sky-T1"),
    ("home/ubuntu/skyov1-dl/Sky-T1-math-correct-5K-27B", "minerva_math", "Sky-T1"),
    ("home/ubuntu/skyov1-dl/Sky-T1-math-wrong-5K-27B", "minerva_math", "Sky-T1"),
    ("home/ubuntu/skyov1-dl/Sky-T1-math-correct-5K-14B", "amc23", "Sky-T1"),
    ("home/ubuntu/skyov1-dl/Sky-T1-math-wrong-5K-14B", "amc23", "Sky-T1"),
    ("icml_models/Sky-T1-math-corrupt-0.2-32B", "amc23", "Sky-T1"),
    ("icml_models/Sky-T1-math-reflection-0.2-32B", "amc23", "Sky-T1"),
    ("icml_models/Sky-T1-math-correct-5K-32B-ckpts/checkpoint-140", "aime24", "Sky-T1"),
]
#: SkyThought's own evaluation outputs (skythought/tools): Qwen2.5-32B-Instruct prompted into the
#: Sky-T1 thought/solution format, graded by SkyThought's checker (``correctness``).
SKY_TOOLS_FILES = [
    "Qwen2.5-32B-Instruct_MATH500_test_None_0_-1_still2_sys_zero.json",
    "Qwen2.5-32B-Instruct_MATH500_test_None_0_-1-sys_one_short.json",
    "Qwen2.5-32B-Instruct_MATH500_test_None_0_-1_cw_0.1.json",
    "Qwen2.5-32B-Instruct_AIME_train_None_0_-1_still2_sys_zero.json",
    "Qwen2.5-32B-Instruct_AIME_train_None_0_-1_still2-sys_one_short.json",
    "Qwen2.5-32B-Instruct_AIME_train_None_0_-1_still2_sys_one_long.json",
]
TORA_FILES = [
    "src/outputs/llm-agents/tora-70b-v1.0/gsm8k/test_tora_-1_seed0_t0.0_s0_e1319.jsonl",
    "src/outputs/llm-agents/tora-code-34b-v1.0/gsm8k/test_tora_-1_seed0_t0.0_s0_e1319.jsonl",
]


def _format_of(response: str, source_kind: str) -> str:
    """The response's layout, from its text: the first rule that matches wins."""
    if "<think>" in response or "</think>" in response:
        return "think"
    if "<|begin_of_thought|>" in response or "<|begin_of_solution|>" in response:
        return "thought_solution"
    if source_kind == "tora":
        return "tora"
    if "\\boxed" in response:
        return "boxed_cot"
    return "unboxed_cot"


class Mirror:
    """Reads files at a commit from a bare git mirror."""

    def __init__(self, root: Path, repo: str):
        self.git_dir = root / repo.replace("/", "+") / "repo"
        self.repo = repo

    def full(self, commit: str) -> str:
        return self._git("rev-parse", commit).strip()

    def show(self, commit: str, path: str) -> str:
        return self._git("show", f"{commit}:{path}")

    def _git(self, *args: str) -> str:
        out = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], capture_output=True, text=True, check=True
        )
        return out.stdout


def _sky_qwen(m: Mirror) -> Iterator[dict]:
    commit = m.full(SKY_QWEN_COMMIT)
    for model, bench, prompt in SKY_QWEN_FILES:
        path = f"{QWEN_OUT}{model}/{bench}_eval/{bench}/test_{prompt}_-1_seed0_t0.0_s0_e-1.jsonl"
        short = model.rsplit("/", 1)[-1] if "checkpoint" not in model else "Sky-T1-32B-ckpt140"
        for line in m.show(commit, path).splitlines():
            r = json.loads(line)
            for k, (code, score) in enumerate(zip(r["code"], r["score"], strict=True)):
                yield {
                    "id": f"skyqwen/{short}/{bench}/{r['idx']}" + (f"/{k}" if k else ""),
                    "source": "skythought-qwen25math-harness",
                    "model": short,
                    "benchmark": bench,
                    "problem": r["question"],
                    "gold": _qwen_gold(r),
                    "response": code,
                    "label": bool(score),
                    "finish_reason": None,
                    "repo": m.repo,
                    "commit": commit,
                    "path": path,
                }


def _last_box(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j]
    return None


def _qwen_gold(r: dict) -> str:
    """The benchmark's own answer: the harness's ``gt`` is its normalised string, which is lossy.

    (``strip_string`` drops spaces and some letters: "(a+5)(b+2)" became "(+5)(b+2)", matrices
    lost their row separators.) MATH-500, AIME and AMC rows keep ``answer``; Minerva's is the
    last box of its reference ``solution``.
    """
    answer = r.get("answer")
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    if answer is not None and str(answer).strip():
        return str(answer)
    boxed = _last_box(r.get("solution") or "")
    return boxed if boxed else str(r["gt"])


def _sky_tools(m: Mirror) -> Iterator[dict]:
    commit = m.full(SKY_TOOLS_COMMIT)
    for name in SKY_TOOLS_FILES:
        path = f"skythought/tools/{name}"
        bench = "aime" if "_AIME_" in name else "math500"
        variant = name.split("_-1")[-1].removesuffix(".json").strip("_-") or "default"
        for n, row in enumerate(json.loads(m.show(commit, path)).values()):
            key = row.get("unique_id") or row.get("id") or str(n)
            for temp, resp in row["responses"].items():
                yield {
                    "id": f"skytools/{variant}/{bench}/{key}/{temp}",
                    "source": "skythought-tools-eval",
                    "model": "Qwen2.5-32B-Instruct",
                    "benchmark": bench,
                    "problem": row["problem"],
                    "gold": str(row["answer"]),
                    "response": resp["content"],
                    "label": bool(resp["correctness"]),
                    "finish_reason": None,
                    "repo": m.repo,
                    "commit": commit,
                    "path": path,
                }


def _tora(m: Mirror) -> Iterator[dict]:
    commit = m.full(TORA_COMMIT)
    for path in TORA_FILES:
        model = path.split("/")[3]
        for line in m.show(commit, path).splitlines():
            r = json.loads(line)
            for k, (code, pred) in enumerate(zip(r["code"], r["pred"], strict=True)):
                yield {
                    "id": f"tora/{model}/gsm8k/{r['idx']}" + (f"/{k}" if k else ""),
                    "source": "tora-outputs",
                    "model": model,
                    "benchmark": "gsm8k",
                    "problem": r["question"],
                    "gold": str(r["gt"]),
                    "response": code,
                    "label": _tora_label(pred, r["gt"]),
                    "finish_reason": None,
                    "repo": m.repo,
                    "commit": commit,
                    "path": path,
                }


def _tora_label(pred: str, gold: str) -> bool:
    """ToRA's stored files keep its extracted ``pred`` but not the score; this is ToRA's numeric rule.

    ``math_equal`` with ``include_percentage``: equal within relative 1e-4 to gold, gold/100 or
    gold*100. It reproduces the ``Mean score`` of both committed ``.metrics`` files (84.3, 80.7).
    """
    try:
        p, g = (float(str(x).replace(",", "")) for x in (pred, gold))
    except ValueError:
        return False
    return any(math.isclose(p, v, rel_tol=1e-4) for v in (g, g / 100, g * 100))


def build(mirrors: Path) -> list[dict]:
    sky, tora = Mirror(mirrors, SKY), Mirror(mirrors, TORA)
    rows = []
    for kind, gen in (("qwen", _sky_qwen(sky)), ("tools", _sky_tools(sky)), ("tora", _tora(tora))):
        for row in gen:
            row["format"] = _format_of(row["response"], kind)
            rows.append(row)
    ids = Counter(r["id"] for r in rows)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        raise SystemExit(f"duplicate ids: {dup[:5]}")
    return rows


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirrors", type=Path, required=True, help="folder of <owner>+<name>/repo git dirs")
    ap.add_argument("--out", type=Path, required=True, help="folder to write corpus.jsonl.gz into")
    args = ap.parse_args()
    rows = build(args.mirrors)
    args.out.mkdir(parents=True, exist_ok=True)
    fields = ["id", "source", "format", "model", "benchmark", "problem", "gold", "response", "label"]
    fields += ["finish_reason", "repo", "commit", "path"]
    with gzip.open(args.out / "corpus.jsonl.gz", "wt", encoding="utf-8", compresslevel=9) as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in fields}, ensure_ascii=False) + "\n")
    counts = Counter((r["source"], r["format"]) for r in rows)
    for (source, fmt), n in sorted(counts.items()):
        log.info("%-32s %-18s %5d", source, fmt, n)
    log.info("total %d rows", len(rows))


if __name__ == "__main__":
    main()
