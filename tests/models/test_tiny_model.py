import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoModelForCausalLM, AutoTokenizer

from r1lab.models import build_char_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_reloaded_tokenizer_is_the_char_tokenizer(tokenizer):
    assert tokenizer.padding_side == "left"
    assert len(tokenizer) == len(build_char_tokenizer())
    assert tokenizer.eos_token == "<|im_end|>"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello  world\n\n\tend ",
        "$\\frac{1}{2} + \\sqrt{x^2}$ is \\boxed{42}",
        "héllo ∑ 😀 ½",
        "  leading",
    ],
)
def test_round_trip_examples(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_round_trip_any_text(text):
    tokenizer = _cached_tokenizer()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


_TOKENIZER = []


def _cached_tokenizer():
    if not _TOKENIZER:
        _TOKENIZER.append(build_char_tokenizer())
    return _TOKENIZER[0]


def test_think_markers_are_single_tokens(tokenizer):
    for marker in ("<think>", "</think>", "<|im_start|>", "<|im_end|>"):
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1


def test_think_markers_survive_skip_special_tokens(tokenizer):
    # TRL decodes completions with skip_special_tokens=True before rewards see them.
    ids = tokenizer("<think>\nx\n</think>\n\n2<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>\nx\n</think>\n\n2"
    assert "<think>" not in tokenizer.all_special_tokens


def test_chat_template_renders_turns(tokenizer):
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "<think>\nadd\n</think>\n\n2"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n1+1?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nadd\n</think>\n\n2<|im_end|>\n"
    )
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")


def test_model_reloads_and_generates(tiny_model_dir, tokenizer):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.3e6 < n_params < 2e6
    assert model.generation_config.do_sample is True
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    torch.manual_seed(0)
    out = model.generate(**inputs, max_new_tokens=12, min_new_tokens=12)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 12


def test_llama_variant(tmp_path):
    from r1lab.models import TinyModelConfig, build_tiny_model

    path = build_tiny_model(tmp_path / "llama", TinyModelConfig(arch="llama", num_layers=2))
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == "llama"
