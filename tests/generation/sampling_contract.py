"""Served vs offline generation for the sampling-contract tests (and ``python -m`` for a measurement).

The offline side is HF ``generate`` in this process on the same chat prompt the server renders;
the served side is plain HTTP, ``concurrency`` requests in flight, so the comparison depends on
nothing of r1lab's client.
"""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def gsm8k_messages(count: int) -> list[list[dict[str, str]]]:
    """The first ``count`` problems of r1lab's bundled GSM8K, each as a one-turn chat."""
    from r1lab.data import load_benchmark

    problems = load_benchmark("gsm8k")["problem"][:count]
    return [[{"role": "user", "content": problem}] for problem in problems]


def load_offline(model_dir: str | Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto").eval()
    return model, tokenizer


def offline_greedy(model, tokenizer, chats: list, max_tokens: int) -> list[str]:
    """Greedy continuations, one prompt at a time (no padding to change the numbers)."""
    import torch

    texts = []
    for messages in chats:
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.no_grad():
            out = model.generate(**ids, do_sample=False, max_new_tokens=max_tokens, top_k=None, top_p=None)
        texts.append(tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
    return texts


def offline_sample(
    model, tokenizer, chats: list, max_tokens: int, temperature: float, top_p: float, n: int, seed: int
):
    """``n`` samples per prompt at ``temperature`` / ``top_p`` (no top-k), batched by prompt."""
    import torch

    torch.manual_seed(seed)
    texts = []
    for messages in chats:
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        batch = {key: value.repeat(n, 1) for key, value in ids.items()}
        with torch.no_grad():
            out = model.generate(
                **batch,
                do_sample=True,
                temperature=temperature,
                top_p=top_p,
                top_k=0,
                max_new_tokens=max_tokens,
            )
        texts.append(
            [tokenizer.decode(row[ids["input_ids"].shape[1] :], skip_special_tokens=True) for row in out]
        )
    return texts


def served(
    base_url: str, model: str, chats: list, max_tokens: int, concurrency: int = 12, **sampling
) -> list[str]:
    """One chat completion per prompt, ``concurrency`` in flight; the texts in prompt order."""

    def one(messages) -> str:
        body = {"model": model, "messages": messages, "max_tokens": max_tokens, **sampling}
        request = urllib.request.Request(
            base_url + "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as resp:
            return json.loads(resp.read())["choices"][0]["message"]["content"]

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, chats))


def agreement(a: list[str], b: list[str]) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))
