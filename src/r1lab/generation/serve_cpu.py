"""``python -m r1lab.generation.serve_cpu [--r1lab-cpu-attention] serve MODEL ...``: r1lab's ``transformers serve``.

Every server r1lab starts runs through this module (``server.serve_command``): the same command line
and server as ``transformers serve``, with two differences made before transformers starts.

**Each request's sampling applies.** Since transformers 5.2x ``transformers serve`` runs the model
in a process of its own; with continuous batching that process starts one batching manager with
the model's generation config, and a request's ``temperature`` / ``top_p`` / ``top_k`` reach only
the per-request logits processors that config creates: a processor exists only for a value that
changes the logits (temperature not 1.0, top-k not 0, top-p below 1.0), ``do_sample`` is one switch
for every request, and a greedy request (temperature 0) is sent as ``top_k=1``. A model whose
config says ``do_sample: true, temperature: 1.0, top_k: 0, top_p: 1.0`` is therefore sampled at
1.0 whatever a request asks, temperature 0 included; one saying temperature 0.6 samples a greedy
request at 0.6. Without continuous batching ``do_sample`` comes from the config too, so a model
whose config does not sample would answer a temperature-0.6 request greedily.

transformers' serving reads generation configs in one place, ``ModelLoader`` ("each model's process
loads its model with a copy of the server's loader"): ``load_config`` gives the API server a
request's defaults, ``load_model_and_processor`` the model (and so the batching manager) its
config. ``SamplingModelLoader`` gives both ``sampling_generation_config``: ``do_sample`` on (a
temperature-0 request still turns it off), and with continuous batching every sampling processor
present with a value that leaves the logits as they are when the model's config has none (top-k
= the vocabulary; temperature and top-p one part in 10^9 off 1.0, which is 1.0 once the batching
manager stores them as float32). A request's own values then replace those per request. The one
patch is this module's replacing ``ModelLoader`` in ``transformers.cli.serving.model_manager``,
where ``transformers serve`` looks it up, with that subclass: the batching manager takes no other
generation config (``CBGenerateRunner`` calls ``init_continuous_batching`` without one), and a
model directory with a rewritten config would change the model name requests must carry. It is
checked against the serving code it relies on (``check_transformers``) and refuses to start on a
transformers without it. ``r1lab.generation.probe`` checks the outcome on every server r1lab starts.

**r1lab's CPU attention** (``--r1lab-cpu-attention``): ``r1lab.generation.cpu_attention.register``
makes batched per-request attention the ``"sdpa"`` implementation (see that module for why). It
has to happen in the model's process, which transformers starts with ``spawn`` (a fresh
interpreter that does not inherit a registration made here), so the loader registers it there,
before the model loads.
"""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

#: How far off 1.0 a default temperature / top-p sits so that transformers creates its processor;
#: float32, which the batching manager stores them in, rounds it back to exactly 1.0.
NEUTRAL_OFFSET = 1e-9
CPU_ATTENTION_FLAG = "--r1lab-cpu-attention"

_cpu_attention = False  # set by main() before transformers builds its loader


def sampling_generation_config(
    generation_config: Any, vocab_size: int | None, continuous_batching: bool
) -> Any:
    """A copy of ``generation_config`` with which a server applies each request's sampling settings.

    ``do_sample`` is on; with continuous batching, temperature, top-k and top-p always get a
    processor: the model's own value where it sets one, else a value that leaves the logits
    unchanged (see the module docstring). A request that sets its own value gets its own.
    """
    config = copy.deepcopy(generation_config)
    config.do_sample = True
    if continuous_batching:
        if config.temperature is None or config.temperature == 1.0:
            config.temperature = 1.0 + NEUTRAL_OFFSET
        if not config.top_k:  # None or 0: no top-k; the top-k processor clamps k to the vocabulary
            config.top_k = int(vocab_size or 2**31 - 1)
        if config.top_p is None or config.top_p >= 1.0:
            config.top_p = 1.0 - NEUTRAL_OFFSET
    return config


def check_transformers() -> None:
    """Refuse a transformers whose serving code differs from what ``SamplingModelLoader`` relies on."""
    import transformers

    problems = []
    try:
        from transformers.cli.serving import model_manager, utils
    except ImportError as exc:
        raise SystemExit(
            f"r1lab: transformers {transformers.__version__} has no serving package: {exc}"
        ) from None
    loader = getattr(model_manager, "ModelLoader", None)
    for name in ("load_config", "load_model_and_processor"):
        if not hasattr(loader, name):
            problems.append(f"ModelLoader.{name}")
    runner = getattr(utils, "CBGenerateRunner", None)
    if not hasattr(runner, "_build_continuous_batching_kwargs"):
        problems.append("CBGenerateRunner (per-request sampling in continuous batching)")
    if problems:
        raise SystemExit(
            f"r1lab: transformers {transformers.__version__}'s serving lacks {', '.join(problems)}, which r1lab "
            "needs to make each request's sampling apply (tested with 5.25); install the locked version "
            "(make install) or serve with another engine"
        )


def _loader_class():
    from transformers.cli.serving.model_manager import ModelLoader

    class SamplingModelLoader(ModelLoader):
        """transformers' ``ModelLoader`` whose generation configs apply each request's sampling settings."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.r1lab_continuous_batching = bool(kwargs.get("continuous_batching", False))
            self.r1lab_cpu_attention = _cpu_attention  # travels to the model's process with the loader

        def load_config(self, model_id: str):
            config, generation_config = super().load_config(model_id)
            vocab_size = config.get_text_config().vocab_size
            return config, sampling_generation_config(
                generation_config, vocab_size, self.r1lab_continuous_batching
            )

        def load_model_and_processor(self, model_id: str, on_progress=None):
            if self.r1lab_cpu_attention:
                from r1lab.generation.cpu_attention import register

                register()
            model, processor = super().load_model_and_processor(model_id, on_progress)
            vocab_size = model.config.get_text_config().vocab_size
            model.generation_config = sampling_generation_config(
                model.generation_config, vocab_size, self.r1lab_continuous_batching
            )
            logger.warning(
                "r1lab: per-request sampling configured%s (generation config: do_sample %s, temperature %r, "
                "top_k %r, top_p %r)",
                ", r1lab CPU attention registered" if self.r1lab_cpu_attention else "",
                model.generation_config.do_sample,
                model.generation_config.temperature,
                model.generation_config.top_k,
                model.generation_config.top_p,
            )
            return model, processor

    SamplingModelLoader.__module__ = __name__
    SamplingModelLoader.__qualname__ = "SamplingModelLoader"
    return SamplingModelLoader


def __getattr__(name: str):
    """``SamplingModelLoader``, built on first use: importing this module must not import transformers."""
    if name == "SamplingModelLoader":
        cls = _loader_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def main() -> int | None:
    global _cpu_attention
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = sys.argv[1:]
    _cpu_attention = CPU_ATTENTION_FLAG in args
    args = [arg for arg in args if arg != CPU_ATTENTION_FLAG]
    check_transformers()
    from transformers.cli.serving import model_manager

    model_manager.ModelLoader = __getattr__("SamplingModelLoader")
    if _cpu_attention:  # in this process too, for a transformers that generates here
        from r1lab.generation.cpu_attention import register

        register()
    from transformers.cli.transformers import main as transformers_main

    sys.argv = ["transformers", *args]
    return transformers_main()


if __name__ == "__main__":
    # Run as the imported module, not as __main__: the loader class must pickle by the name the
    # model's process imports it under (r1lab.generation.serve_cpu.SamplingModelLoader).
    from r1lab.generation.serve_cpu import main as module_main

    sys.exit(module_main())
