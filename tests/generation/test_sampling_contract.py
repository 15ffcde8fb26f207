"""The sampling contract against real servers: what a request asks is what the server samples with.

transformers 5.25's continuous batching sampled every request at the model config's settings
(issue 23). These tests compare served output with offline ``generate`` in this process, in every
server mode r1lab starts, for the real SmolLM2-135M-Instruct and for a model whose config says
``do_sample: true, temperature: 1.0, top_k: 0, top_p: 1.0`` (the demo models' config; the tiny
model is built with it).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from r1lab.generation.probe import SamplingContractError, check_sampling, warn_if_greedy_differs
from r1lab.generation.serve_cpu import sampling_generation_config
from r1lab.generation.server import _healthy, free_port, serve_model, stop_process

from .sampling_contract import agreement, gsm8k_messages, load_offline, offline_greedy, offline_sample, served

MODES = {  # name -> serve_model arguments
    "continuous batching, r1lab CPU attention": {"continuous_batching": True, "cpu_attention": True},
    "continuous batching, plain transformers": {"continuous_batching": True, "cpu_attention": False},
    "one request at a time": {"continuous_batching": False},
}
PROMPTS, TOKENS, IN_FLIGHT = 24, 48, 12


def test_generation_config_creates_every_sampling_processor_and_leaves_logits_alone():
    import torch
    from transformers import GenerationConfig

    demo = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
    config = sampling_generation_config(demo, vocab_size=49152, continuous_batching=True)
    assert config.do_sample and config.top_k == 49152
    assert config.temperature != 1.0 and config.top_p < 1.0  # so transformers creates their processors
    # ... which the batching manager stores as float32: exactly 1.0, the logits unchanged
    assert torch.tensor(config.temperature, dtype=torch.float32).item() == 1.0
    assert torch.tensor(config.top_p, dtype=torch.float32).item() == 1.0
    smollm2 = GenerationConfig(do_sample=True, temperature=0.6, top_k=0, top_p=0.95)
    kept = sampling_generation_config(smollm2, vocab_size=49152, continuous_batching=True)
    assert (kept.temperature, kept.top_p, kept.top_k) == (0.6, 0.95, 49152)  # the model's defaults stay
    greedy_model = GenerationConfig(do_sample=False, top_k=50)
    serial = sampling_generation_config(greedy_model, vocab_size=100, continuous_batching=False)
    assert serial.do_sample and serial.top_k == 50 and demo.top_k == 0  # a copy; a request's T=0 turns it off


def test_warns_once_when_a_greedy_row_differs(caplog):
    import r1lab.generation.probe as probe

    probe._warned_greedy = False
    warn_if_greedy_differs(["a", "a"], 0.0, "row-1")
    warn_if_greedy_differs(["a", "b"], 0.6, "row-2")  # sampled: differing is expected
    assert not caplog.records
    warn_if_greedy_differs(["a", "b"], 0.0, "row-3")
    warn_if_greedy_differs(["c", "d"], 0.0, "row-4")
    assert len(caplog.records) == 1 and "row-3" in caplog.text and "temperature 0" in caplog.text


def test_reference_tells_greedy_text_from_a_token_greedy_decoding_would_not_take(tiny_model_dir):
    import torch

    from r1lab.generation.probe import Reference

    ref = Reference(tiny_model_dir, max_tokens=12)
    assert len(ref.ids) >= 6 and ref.explain(ref.text) is None
    with torch.no_grad():
        logits = ref.model(torch.tensor([ref.prompt_ids + ref.ids[:4]])).logits[0, -1]
    unlikely = int(logits.argmin())  # the token greedy decoding is least likely to take at step 4
    why = ref.explain(ref.decode([*ref.ids[:4], unlikely, *ref.ids[5:]]))
    assert why is not None and why.startswith("at token 4 it took"), why


def test_a_server_dropping_the_leading_newline_of_a_greedy_answer_is_still_greedy():
    from r1lab.generation.probe import with_leading_space

    # the demo's tiny model: offline greedy '\n9+7=1}', transformers serve answers '9+7=1}'
    assert with_leading_space("\n9+7=1}", "9+7=1}") == "\n9+7=1}"
    assert with_leading_space("\n9+7=1}", "\n9+7=1}") == "\n9+7=1}"
    assert with_leading_space("9+7=1}", "9+7=1}") == "9+7=1}"
    assert with_leading_space("\n9+7=1}", "8+7=1}") == "\n8+7=1}"  # a real difference stays one


def test_greedy_by_the_servers_own_logprobs_allows_ties_and_names_the_first_other_token():
    from r1lab.generation.probe import LOGPROB_TIE, off_greedy_step

    def step(token, logprob, *top):  # vLLM's order: the sampled token first, then the most likely
        return {
            "token": token,
            "logprob": logprob,
            "top_logprobs": [{"token": t, "logprob": p} for t, p in top],
        }

    greedy = [step("As", -0.4, ("As", -0.4), ("The", -1.2)), step(" the", -0.1, (" the", -0.1), (" a", -2.5))]
    assert off_greedy_step(greedy) is None
    tie = [step(" a", -0.69, (" a", -0.69), (" the", -0.69))]  # bfloat16 logits tie exactly
    assert off_greedy_step(tie) is None
    within = [step(" a", -0.72, (" a", -0.72), (" the", -0.72 + LOGPROB_TIE / 2))]
    assert off_greedy_step(within) is None
    sampled = greedy[:1] + [step(" where", -1.07, (" where", -1.07), (",", -0.1))]
    assert "at token 1 it took ' where' where the most likely token is ','" in off_greedy_step(sampled)
    assert off_greedy_step([]) == "the server sent no logprobs"
    assert "no top_logprobs at token 0" in off_greedy_step([{"token": "As", "logprob": -0.4}])


def test_reasoning_a_server_split_out_is_put_back_before_comparing():
    from r1lab.generation.probe import _squeezed, rejoin_reasoning

    # the demo's student: offline greedy '<think>\n3+++3000, 30+60, 0+4, '; transformers serve answers
    # content '' and reasoning_content '3+++3000, 30+60, 0+4,' (tags removed, white space stripped)
    served = rejoin_reasoning("", "3+++3000, 30+60, 0+4,")
    assert _squeezed(served) == _squeezed("<think>\n3+++3000, 30+60, 0+4, ")
    assert rejoin_reasoning("7", "3+4") == "<think>3+4</think>7"
    assert rejoin_reasoning("7", None) == "7"
    assert _squeezed(rejoin_reasoning("", "3+++3001")) != _squeezed("<think>\n3+++3000")


def test_greedy_text_transformers_serve_parsed_is_still_greedy(tiny_model_dir):
    """A demo student's greedy answer '16++<think>\n</think>12...' came back from transformers serve as
    '12...' (its response parser drops what precedes a <think> section) and the probe stopped the demo."""
    from r1lab.generation.probe import Reference

    ref = Reference(tiny_model_dir, max_tokens=4)
    ref.ids = ref.tokenizer.encode("16++<think>\n</think>12\n</think>63+5", add_special_tokens=False)
    ref.text = ref.decode(ref.ids)
    ref.served_text = ref._as_transformers_serves(tiny_model_dir)
    assert ref.served_text == "12\n</think>63+5"  # what the server's parser makes of it
    assert ref.explain("12\n</think>63+5") is None
    assert ref.explain(ref.text) is None
    assert ref.explain("13\n</think>63+5") is not None  # a different answer still is one


def test_probe_names_what_plain_transformers_serve_ignores(tiny_model_dir):
    """transformers 5.25's own server (continuous batching) on the demo-like config: the probe must stop it."""
    import transformers

    port = free_port()
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(tiny_model_dir)]
    command += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--continuous-batching",
        "--cb-max-memory-percent",
        "0.1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not _healthy(f"http://127.0.0.1:{port}"):
            assert process.poll() is None and time.monotonic() < deadline, "transformers serve did not start"
            time.sleep(0.3)
        with pytest.raises(SamplingContractError) as failed:
            check_sampling(f"http://127.0.0.1:{port}/v1", str(tiny_model_dir), model_dir=tiny_model_dir)
    finally:
        stop_process(process)
    message = str(failed.value)
    assert "temperature=0 (greedy decoding) is not applied" in message, (transformers.__version__, message)
    assert "top_p is not applied" in message and "temperature is not applied" in message


@pytest.fixture(scope="module")
def gsm8k_chats():
    return gsm8k_messages(PROMPTS)


@functools.lru_cache(maxsize=2)
def _offline_reference(model_dir) -> list[str]:
    """Offline greedy for the GSM8K prompts, once per model for all the modes (~25 s for SmolLM2)."""
    model, tokenizer = load_offline(model_dir)
    return offline_greedy(model, tokenizer, gsm8k_messages(PROMPTS), TOKENS)


def _greedy_agreement(model_dir, chats, mode: dict) -> tuple[int, list[str], list[str]]:
    reference = _offline_reference(str(model_dir))
    with serve_model(model_dir, **mode) as server:
        texts = served(server.base_url, server.model, chats, TOKENS, IN_FLIGHT, temperature=0.0)
    return agreement(reference, texts), reference, texts


@pytest.mark.server
def test_tiny_demo_config_served_greedy_equals_offline_greedy(tiny_server, tiny_model_dir, gsm8k_chats):
    """The default mode (continuous batching + r1lab's attention) on the demo models' generation config."""
    model, tokenizer = load_offline(tiny_model_dir)
    reference = offline_greedy(model, tokenizer, gsm8k_chats, TOKENS)
    texts = served(tiny_server.base_url, tiny_server.model, gsm8k_chats, TOKENS, IN_FLIGHT, temperature=0.0)
    assert agreement(reference, texts) >= PROMPTS - 1, list(zip(reference, texts, strict=True))


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("mode", [m for m in MODES if m != "continuous batching, r1lab CPU attention"])
def test_tiny_demo_config_greedy_in_the_other_modes(tiny_model_dir, gsm8k_chats, mode):
    agreed, reference, texts = _greedy_agreement(tiny_model_dir, gsm8k_chats, MODES[mode])
    assert agreed >= PROMPTS - 1, list(zip(reference, texts, strict=True))


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("mode", list(MODES))
def test_smollm2_served_greedy_equals_offline_greedy(smollm2_dir, gsm8k_chats, mode):
    """SmolLM2's config samples at 0.6: a greedy request must still be greedy (>= 23 of 24, 48 tokens)."""
    agreed, reference, texts = _greedy_agreement(smollm2_dir, gsm8k_chats, MODES[mode])
    assert agreed >= PROMPTS - 1, [pair for pair in zip(reference, texts, strict=True) if pair[0] != pair[1]]


@pytest.fixture(scope="module")
def smollm2_at_temperature_one(smollm2_dir, tmp_path_factory):
    """SmolLM2 with the demo models' generation config (temperature 1.0, top-k 0, top-p 1.0), where
    a server that ignored a request's temperature 0.6 would sample visibly worse."""
    out = tmp_path_factory.mktemp("smollm2-t1")
    for path in smollm2_dir.iterdir():
        if path.name != "generation_config.json":
            os.symlink(path, out / path.name)
    config = json.loads((smollm2_dir / "generation_config.json").read_text())
    config.update(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
    (out / "generation_config.json").write_text(json.dumps(config))
    yield out
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.server
def test_served_pass_at_1_at_temperature_0_6_matches_offline_sampling(smollm2_at_temperature_one):
    """pass@1 at T=0.6 / top-p 0.95: served (default mode) within 3 standard errors of offline ``generate``.

    The issue names the demo's GRPO model; training one here is too slow, so this is SmolLM2 with the
    demo models' config on one-digit sums (48 problems x 4 samples, 16 tokens): offline 38% at
    T=0.6 and 18% at T=1.0; served by the code before issue 23, 14% (docs/generation.md).
    """
    from r1lab.data.tasks import make_arithmetic
    from r1lab.evaluation.metrics import standard_error
    from r1lab.grading import grade_many

    problems = make_arithmetic(48, digits=1, seed=23)
    chats = [[{"role": "user", "content": f"{p['problem']} Answer with the number."}] for p in problems]
    samples, max_tokens = 4, 16
    model, tokenizer = load_offline(smollm2_at_temperature_one)
    offline = offline_sample(model, tokenizer, chats, max_tokens, 0.6, 0.95, samples, seed=0)
    del model
    with serve_model(smollm2_at_temperature_one) as server:
        repeated = [chat for chat in chats for _ in range(samples)]
        texts = served(server.base_url, server.model, repeated, max_tokens, 16, temperature=0.6, top_p=0.95)
    online = [texts[i * samples : (i + 1) * samples] for i in range(len(chats))]

    def per_problem(rows):
        pairs = [(t, p) for texts, p in zip(rows, problems, strict=True) for t in texts]
        grades = grade_many(
            [t for t, _ in pairs], [p["answer"] for _, p in pairs], problems=[p["problem"] for _, p in pairs]
        )
        flat = [g.correct for g in grades]
        return [sum(flat[i * samples : (i + 1) * samples]) / samples for i in range(len(problems))]

    a, b = per_problem(offline), per_problem(online)
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    se = (standard_error(a) ** 2 + standard_error(b) ** 2) ** 0.5
    print(f"pass@1 at T=0.6: offline {mean_a:.3f}, served {mean_b:.3f}, SE of the difference {se:.3f}")
    assert abs(mean_a - mean_b) <= 3 * se, (mean_a, mean_b, se)
