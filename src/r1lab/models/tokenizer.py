"""A byte-level "character" tokenizer that needs no download and round-trips any text exactly.

Each UTF-8 byte is one token (so each ASCII character is one token), and the chat and reasoning
markers are single special tokens. It is a plain ``PreTrainedTokenizerFast`` saved with
``save_pretrained``, so ``AutoTokenizer.from_pretrained(dir)`` reloads it with no custom code, and
``transformers serve``, TRL and vLLM use it like any hub tokenizer.
"""

from __future__ import annotations

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD, EOS, IM_START, IM_END = "<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"
THINK_START, THINK_END = "<think>", "</think>"
SPECIAL_TOKENS = [PAD, EOS, IM_START, IM_END, THINK_START, THINK_END]

#: ChatML, as Qwen uses it. ``add_generation_prompt`` opens the assistant turn; the model writes
#: ``<think>`` itself (the R1-Distill template pre-fills it; tests cover both layouts).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_char_tokenizer(padding_side: str = "left") -> PreTrainedTokenizerFast:
    """Build the tokenizer: 256 byte tokens followed by the special tokens.

    ``padding_side`` is passed to the constructor (setting it afterwards is lost on reload).
    Left padding is what generation and GRPO want; SFT collators pad on their own.
    """
    byte_chars = sorted(pre_tokenizers.ByteLevel.alphabet(), key=lambda c: _byte_of(c))
    vocab = {char: index for index, char in enumerate(byte_chars)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], ignore_merges=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        eos_token=IM_END,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[EOS, IM_START],
        padding_side=padding_side,
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
    # The reasoning markers are single tokens but NOT special: TRL (and servers) decode completions
    # with skip_special_tokens=True, which would strip special ones before rewards and graders see
    # them. Qwen3 and R1-Distill register them the same way.
    fast.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in (THINK_START, THINK_END)])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _byte_of(char: str) -> int:
    """The byte a ByteLevel alphabet character stands for (GPT-2's bytes_to_unicode, inverted)."""
    code = ord(char)
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    if code in printable:
        return code
    others = [b for b in range(256) if b not in printable]
    return others[code - 256]
