"""Served against in-process sampling: does the server sample what the run asked for?

An evaluation through a server measures the model *and* the server's sampling. When the server
silently ignores a request's temperature (transformers 5.25's continuous batching did: every
request sampled at the model config's 1.0, issue 23) the score moves by tens of points and
nothing else notices. ``sample_in_process`` draws the same problems with the same prompt,
temperature and top-p through ``model.generate`` in this process, with a fixed seed, and
``compare_served`` tests the served pass@1 on those problems against it: a difference beyond
``max_z`` standard errors of the paired per-problem difference (under equal sampling) is a server
that sampled otherwise.

The check is cheap on purpose (a fixed subset of problems, one batched ``generate``), so a run
can afford it every time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from r1lab.errors import R1labError
from r1lab.evaluation.metrics import problem_pass_at_1

logger = logging.getLogger(__name__)

#: Standard errors of the paired difference beyond which served and in-process sampling disagree.
#: 3 leaves a correct server a 0.3% chance of a false alarm per check.
MAX_Z = 3.0


def sample_in_process(
    model_dir: str | Path,
    problems: Sequence[Mapping[str, Any]],
    *,
    num_samples: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    prompt_template: str | None,
    system_prompt: str | None,
    seed: int = 0,
    batch_size: int = 256,
) -> list[dict[str, Any]]:
    """``num_samples`` answers per problem from ``model.generate``, the way a server is asked for them.

    The prompt is the chat the generation client sends (``prompts.build_messages``) through the
    model's chat template; sampling is temperature and top-p only (no top-k: an OpenAI request
    without one does not filter), temperature 0 is greedy. Returns one row per problem: ``id``,
    ``generations``, ``finish_reasons`` (``length`` when cut off at ``max_tokens``).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1lab.prompts import build_messages

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    prompts = [
        tokenizer.apply_chat_template(
            build_messages(problem, prompt_template, system_prompt),
            tokenize=False,
            add_generation_prompt=True,
        )
        for problem in problems
        for _ in range(num_samples)
    ]
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        if temperature > 0
        else {"do_sample": False}
    )
    eos = {tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)} - {None}
    torch.manual_seed(seed)
    texts: list[str] = []
    reasons: list[str] = []
    for start in range(0, len(prompts), batch_size):
        batch = tokenizer(
            prompts[start : start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False
        )
        with torch.inference_mode():
            out = model.generate(
                **batch, max_new_tokens=max_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            ended = next((i for i, token in enumerate(row) if token in eos), None)
            reasons.append("stop" if ended is not None else "length")
            texts.append(tokenizer.decode(row[:ended], skip_special_tokens=True))
    return [
        {
            "id": str(problem["id"]),
            "generations": texts[i * num_samples : (i + 1) * num_samples],
            "finish_reasons": reasons[i * num_samples : (i + 1) * num_samples],
        }
        for i, problem in enumerate(problems)
    ]


def grade_samples(rows: Sequence[Mapping[str, Any]], golds: Mapping[str, str]) -> dict[str, list[bool]]:
    """Each row's samples graded against ``golds[id]`` exactly as an evaluation grades them."""
    from r1lab.grading import grade_many

    responses = [text for row in rows for text in row["generations"]]
    answers = [golds[str(row["id"])] for row in rows for _ in row["generations"]]
    reasons = [reason for row in rows for reason in row["finish_reasons"]]
    grades = iter(grade_many(responses, answers, finish_reasons=reasons))
    return {str(row["id"]): [bool(next(grades).correct) for _ in row["generations"]] for row in rows}


@dataclass(frozen=True)
class SamplingCheck:
    """Served against in-process pass@1 on the same problems; ``agree`` when within ``max_z`` s.e."""

    problems: int
    served_samples: int
    in_process_samples: int
    served_pass_at_1: float
    in_process_pass_at_1: float
    difference: float
    stderr: float
    max_z: float

    @property
    def agree(self) -> bool:
        if self.stderr == 0:
            return self.difference == 0
        return abs(self.difference) <= self.max_z * self.stderr

    def describe(self) -> str:
        z = f"{abs(self.difference) / self.stderr:.1f}" if self.stderr > 0 else "inf"
        return (
            f"served pass@1 {100 * self.served_pass_at_1:.1f}% vs in-process {100 * self.in_process_pass_at_1:.1f}% "
            f"on the same {self.problems} problems ({self.served_samples} and {self.in_process_samples} samples "
            f"each): difference {100 * self.difference:+.1f} ± {100 * self.stderr:.1f} points ({z} s.e., "
            f"limit {self.max_z:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agree": self.agree, "text": self.describe()}


def compare_served(
    served: Mapping[str, Sequence[bool]], in_process: Mapping[str, Sequence[bool]], *, max_z: float = MAX_Z
) -> SamplingCheck:
    """Paired per-problem comparison of served and in-process correctness (problems both have).

    The statistic is the mean per-problem difference of pass@1, so the problems' difficulty
    cancels and only the sampling noise of the two sides remains. Its standard error is the one it
    has when both sides sample alike (the hypothesis tested): each problem's two pass rates are
    binomial around one shared rate, estimated from both sides' samples together. The spread of
    the observed differences would do too, but with 4 served samples a problem most differences
    are 0 or +-1/4 and that spread runs low: a demo run whose server was measured to sample like
    ``model.generate`` (the same number of distinct answers per problem, 32 draws each) read +8.2
    points as 3.0 s.e. of the observed differences, 2.6 of this one.
    """
    ids = [i for i in in_process if i in served and served[i] and in_process[i]]
    if not ids:
        raise R1labError("served vs in-process: no problem was sampled both ways")
    served_rates = [problem_pass_at_1(served[i]) for i in ids]
    local_rates = [problem_pass_at_1(in_process[i]) for i in ids]
    differences = [a - b for a, b in zip(served_rates, local_rates, strict=True)]
    variance = 0.0
    for i in ids:
        shared = (sum(map(bool, served[i])) + sum(map(bool, in_process[i])) + 0.5) / (
            len(served[i]) + len(in_process[i]) + 1
        )
        variance += shared * (1 - shared) * (1 / len(served[i]) + 1 / len(in_process[i]))
    stderr = math.sqrt(variance) / len(ids)
    return SamplingCheck(
        problems=len(ids),
        served_samples=len(served[ids[0]]),
        in_process_samples=len(in_process[ids[0]]),
        served_pass_at_1=sum(served_rates) / len(ids),
        in_process_pass_at_1=sum(local_rates) / len(ids),
        difference=sum(differences) / len(ids),
        stderr=0.0 if math.isnan(stderr) else stderr,
        max_z=max_z,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
