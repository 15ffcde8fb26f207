"""``python -m r1lab.generation.serve_cpu serve MODEL ...``: ``transformers serve`` with r1lab's CPU attention.

The same command line and server as ``transformers serve``; the only difference is that, before
transformers starts, ``r1lab.generation.cpu_attention.register`` makes batched per-request
attention the ``"sdpa"`` implementation of this process, which continuous batching on a CPU uses
(see that module for why). ``r1lab serve`` / ``--serve-model`` start a CPU server this way;
``serve_model(..., cpu_attention=False)`` starts plain ``transformers serve``.
"""

from __future__ import annotations

import sys


def main() -> int | None:
    from r1lab.generation.cpu_attention import register

    register()
    from transformers.cli.transformers import main as transformers_main

    sys.argv = ["transformers", *sys.argv[1:]]
    return transformers_main()


if __name__ == "__main__":
    sys.exit(main())
