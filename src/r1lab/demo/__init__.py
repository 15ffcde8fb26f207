"""``r1lab demo``: the whole R1 recipe in miniature on a CPU, with a report worth opening.

Task data -> cold-start SFT -> GRPO -> distillation through a real ``transformers serve`` ->
evaluation of all three models -> ``report.html``/``report.md``/``results.json``. Each stage calls
the public functions of the real stages (see ``r1lab.demo.stages``).

Names are imported lazily so ``r1lab --help`` does not import torch.
"""

from __future__ import annotations

from r1lab.lazy import lazy_exports

_EXPORTS = {
    "DemoConfig": "r1lab.demo.config",
    "QUICK_PRESET": "r1lab.demo.config",
    "STAGES": "r1lab.demo.config",
    "make_config": "r1lab.demo.config",
    "run_demo": "r1lab.demo.runner",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
