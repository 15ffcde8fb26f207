"""How much signal a GRPO step has: the diagnostics behind docs/demo.md's "why GRPO did not help".

    python bench/grpo_signal.py [MODEL_DIR PROBLEMS.jsonl] [--temperatures 1.0 0.6] [--step-check]

For each sampling temperature it draws two independent batches (``--prompts`` problems x
``--samples`` completions each), computes the GRPO policy gradient of each (group-mean
advantages, the summed log-probability of every completion token), and prints their cosine
similarity: near 0 means a step is mostly noise, near 1 that two batches agree on the direction.
With ``--step-check`` it also moves the weights a small parameter-norm along the averaged and the
differenced gradients, forwards and backwards, and prints sampled accuracy on other problems: if
accuracy falls both ways, the model sits where the objective has no first-order gain left.

MODEL_DIR is a model the demo or the tiny recipes trained (e.g. runs/demo/cold_start/model) and
PROBLEMS.jsonl has ``problem`` and ``answer`` (e.g. runs/demo/data/train.jsonl). Without them the
script first builds the demo's task data and cold start in a temp dir (about 2 minutes), with
``--short-trace-fraction`` (default 0: every trace shows the working, the cold start that GRPO
could not improve; the demo's 0.5 gives GRPO a choice of style).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import time

from record import table, write_results

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _encode(tokenizer, rows: list[dict]):
    from r1lab.prompts import build_messages

    texts = [
        tokenizer.apply_chat_template(build_messages(r, "plain"), tokenize=False, add_generation_prompt=True)
        for r in rows
    ]
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def sample(
    model, tokenizer, rows: list[dict], n: int, temperature: float, seed: int, max_new_tokens: int = 96
):
    """``n`` completions per problem: (prompt length, sequences, rewards 0/1 graded by r1lab.grading)."""
    import torch

    from r1lab.grading import grade_many

    enc = _encode(tokenizer, rows)
    torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        out = model.generate(
            input_ids=enc["input_ids"].repeat_interleave(n, 0),
            attention_mask=enc["attention_mask"].repeat_interleave(n, 0),
            do_sample=True,
            temperature=temperature,
            top_p=1.0,
            top_k=0,
            max_new_tokens=max_new_tokens,
        )
    length = enc["input_ids"].shape[1]
    texts = tokenizer.batch_decode(out[:, length:], skip_special_tokens=True)
    grades = grade_many(texts, [r["answer"] for r in rows for _ in range(n)])
    return length, out, torch.tensor([float(g.correct) for g in grades])


def policy_gradient(model, tokenizer, rows: list[dict], n: int, temperature: float, seed: int):
    """The GRPO gradient of one batch, flattened (REINFORCE with the group mean as baseline)."""
    import torch

    length, sequences, rewards = sample(model, tokenizer, rows, n, temperature, seed)
    grouped = rewards.view(-1, n)
    advantages = (grouped - grouped.mean(1, keepdim=True)).flatten()
    completions = sequences[:, length:]
    is_eos = completions == tokenizer.eos_token_id
    first_eos = torch.where(
        is_eos.any(1), is_eos.int().argmax(1), torch.full((len(completions),), completions.shape[1])
    )
    mask = (torch.arange(completions.shape[1])[None] <= first_eos[:, None]).float()
    attention = torch.cat([torch.ones(len(sequences), length), mask], 1).long()
    model.train()
    model.zero_grad()
    for start in range(0, len(sequences), 128):
        part = slice(start, start + 128)
        logits = model(input_ids=sequences[part], attention_mask=attention[part]).logits
        logps = torch.log_softmax(logits[:, length - 1 : -1].float() / temperature, -1)
        logps = logps.gather(-1, completions[part, :, None])[..., 0]
        (-(advantages[part, None] * logps * mask[part]).sum() / len(sequences)).backward()
    flat = torch.cat([p.grad.flatten() for p in model.parameters()]).clone()
    return flat, rewards.mean().item()


def moved(model, direction, norm: float):
    """A copy of ``model`` with its weights moved by ``norm`` along ``direction`` (loss-gradient sign)."""
    import torch

    other = copy.deepcopy(model)
    unit = direction / direction.norm()
    offset = 0
    with torch.no_grad():
        for p in other.parameters():
            p.sub_(norm * unit[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
    return other


def build_cold_start(short_trace_fraction: float) -> tuple[str, str]:
    """The demo's task data and cold-start SFT (full-preset sizes) in a temp dir: (model dir, train file)."""
    import tempfile

    from r1lab.demo import make_config
    from r1lab.demo import stages as S

    config = make_config(
        {
            "output_dir": tempfile.mkdtemp(prefix="r1lab-grpo-signal-"),
            "short_trace_fraction": short_trace_fraction,
        }
    )
    paths = S.Paths(config.output_dir)
    start = time.perf_counter()
    S.run_data(config, paths, lambda probe: None)
    S.run_cold_start(config, paths, lambda probe: None)
    print(
        f"cold start: SFT {config.sft_steps} steps in {time.perf_counter() - start:.0f} s -> {paths.cold_start}"
    )
    return str(paths.cold_start), str(paths.train)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model_dir", nargs="?", help="default: build the demo's cold start first")
    parser.add_argument("problems", nargs="?", help="default: the demo's training problems")
    parser.add_argument(
        "--short-trace-fraction", type=float, default=0.0, help="for the cold start built here"
    )
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.6])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--step-check", action="store_true", help="also move the weights along the gradient")
    parser.add_argument("--norms", type=float, nargs="+", default=[0.003, 0.01, 0.03])
    args = parser.parse_args()
    if (args.model_dir is None) != (args.problems is None):
        parser.error("give both MODEL_DIR and PROBLEMS.jsonl, or neither")
    if args.model_dir is None:
        args.model_dir, args.problems = build_cold_start(args.short_trace_fraction)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(args.model_dir)
    with open(args.problems, encoding="utf-8") as f:
        problems = [json.loads(line) for line in f if line.strip()]
    rng = random.Random(1)
    rows = rng.sample(problems, args.prompts)
    held = rng.sample([r for r in problems if r not in rows], min(200, len(problems) - len(rows)))
    print(f"{args.model_dir}: {args.prompts} prompts x {args.samples} samples per gradient estimate")
    measured, rows_out = [], []
    for temperature in args.temperatures:
        start = time.perf_counter()
        g1, acc1 = policy_gradient(model, tokenizer, rows, args.samples, temperature, seed=1)
        g2, acc2 = policy_gradient(model, tokenizer, rows, args.samples, temperature, seed=2)
        cosine = (g1 @ g2 / (g1.norm() * g2.norm())).item()
        print(
            f"temperature {temperature:.2f}: batch accuracy {acc1:.3f} / {acc2:.3f}   "
            f"cos(g1, g2) {cosine:+.3f}   ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        measured.append({"temperature": temperature, "batch_accuracy": [acc1, acc2], "cosine": cosine})
        rows_out.append([f"{temperature:.2f}", f"{acc1:.3f} / {acc2:.3f}", f"{cosine:+.3f}"])
        if args.step_check:
            measured[-1]["steps"] = step_check(model, tokenizer, held, temperature, g1, g2, args.norms)
    columns = ["temperature", "batch accuracy, two estimates", "cos(g1, g2)"]
    write_results(
        "grpo_signal", args, {"temperatures": measured}, tables={"summary": table(columns, rows_out)}
    )


def step_check(model, tokenizer, held: list[dict], temperature: float, g1, g2, norms: list[float]) -> dict:
    """Sampled accuracy on ``held`` after small steps along the averaged and the differenced gradients."""

    def accuracy(m) -> float:
        return sample(m, tokenizer, held, 4, temperature, seed=123)[2].mean().item()

    base = accuracy(model)
    out = {"base": base}
    for name, direction in (("signal (g1+g2)", g1 + g2), ("noise (g1-g2)", g1 - g2)):
        cells = []
        for norm in norms:
            forward, backward = (
                accuracy(moved(model, direction, norm)),
                accuracy(moved(model, direction, -norm)),
            )
            cells.append(f"{norm:g}: {forward:.3f} / {backward:.3f}")
        print(f"  sampled accuracy {base:.3f}; a step along {name}, forward / backward: " + "   ".join(cells))
        out[name] = cells
    return out


if __name__ == "__main__":
    main()
