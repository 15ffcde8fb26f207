"""``r1lab serve DIR``: serve a local model on loopback until Ctrl-C, with vLLM or ``transformers serve``.

The engine comes from the seam (``r1lab.generation.engines.serve``: ``--engine auto`` takes vLLM where
a vLLM environment is installed, else r1lab's ``transformers serve``); each request's sampling
settings apply, and a short probe checks that before the URL is printed.
"""

from __future__ import annotations


def register(subparsers) -> None:
    from r1lab.generation.server import CPU_CACHE_MEMORY_FRACTION

    parser = subparsers.add_parser(
        "serve",
        help="serve a local model (vLLM or transformers serve) for r1lab generate",
        description="Start vLLM or `transformers serve` on 127.0.0.1 with a local model and wait until Ctrl-C.",
    )
    parser.add_argument(
        "--engine",
        choices=["auto", "vllm", "transformers"],
        default="auto",
        help="vllm (from `make vllm`'s .venv-vllm or $R1LAB_VLLM_PYTHON), transformers (r1lab's transformers "
        "serve), or auto: vLLM when installed and the machine has vLLM builds, else transformers (default)",
    )
    parser.add_argument(
        "--dtype",
        default=None,
        help="vLLM's dtype (default on a CPU: bfloat16 for a model `r1lab model get` imported from GGUF, "
        "measured as accurate and ~1.7x faster; float32 for any other, whose greedy output equals offline "
        "greedy and which keeps all of a trained model; auto on a GPU)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="vLLM on a CPU: torch.compile the model (~7%% more tokens/s, but 84-88 s to start instead of 26 s; "
        "worth it for a server that runs longer than ~15 minutes)",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="longest completion the clients will ask for: vLLM's context is this plus 2048 prompt tokens "
        "(default: the model's own context)",
    )
    parser.add_argument(
        "model_dir",
        metavar="DIR",
        help="a local model directory (config.json + weights) or a .gguf file (imported once into ~/.cache/r1lab)",
    )
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    parser.add_argument(
        "--no-continuous-batching",
        dest="continuous_batching",
        action="store_false",
        help="serve one request at a time (continuous batching is on by default)",
    )
    parser.add_argument(
        "--plain-transformers",
        dest="cpu_attention",
        action="store_false",
        help="on a CPU, run plain `transformers serve` (its SDPA over all requests' keys) instead of r1lab's "
        "batched per-request attention for continuous batching (docs/real-model.md)",
    )
    parser.add_argument(
        "--no-sampling-check",
        dest="check_sampling",
        action="store_false",
        help="skip the few-second check, once the server is up, that it applies each request's temperature, "
        "top_p and top_k (docs/generation.md)",
    )
    parser.add_argument(
        "--cache-memory-fraction",
        type=float,
        default=None,
        help="share of free memory the continuous-batching KV cache may take (default: "
        f"{CPU_CACHE_MEMORY_FRACTION} without a GPU, where transformers would take 0.6; transformers' default "
        "with one)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    import sys
    import time

    from r1lab.generation.engines import engine_of, serve

    transformers_options = {
        "continuous_batching": args.continuous_batching,
        "cache_memory_fraction": args.cache_memory_fraction,
        "cpu_attention": args.cpu_attention,
    }
    with serve(
        args.model_dir,
        args.engine,
        port=args.port,
        dtype=args.dtype,
        max_tokens=args.max_tokens,
        check_sampling=args.check_sampling,
        compile=args.compile,
        **transformers_options,
    ) as server:
        sys.stdout.write(
            f"serving {server.model} with {engine_of(server).name}\n  base URL: {server.base_url}\n  model:    {server.model}\n"
            f"  try: r1lab generate --input math500 --output out.jsonl --base-url {server.base_url} "
            f"--model {server.model} --max-concurrent {server.recommended_concurrency}\n"
            f"  (--max-concurrent {server.recommended_concurrency}: what this server is efficient at; "
            "more in flight only slows every request down)\nCtrl-C to stop.\n"
        )
        sys.stdout.flush()
        while server.process.poll() is None:
            time.sleep(0.5)
    return 1
