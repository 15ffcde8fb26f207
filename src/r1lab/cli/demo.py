"""``r1lab demo``: the whole R1 pipeline in miniature on a CPU, ending in report.html."""

from __future__ import annotations

from r1lab.config import add_dataclass_arguments

#: Options that take a mapping; typed on the command line as YAML ('{beta: 0.04}') or 'a=1,b=0.1'.
MAPPING_OPTIONS = ("rewards", "sft_overrides", "grpo_overrides")


def register(subparsers) -> None:
    from r1lab.demo.config import DemoConfig

    parser = subparsers.add_parser(
        "demo",
        help=(
            "run every stage of the R1 recipe in miniature on a CPU and write a report "
            "(--preset full ~7 min, quick ~2 min, smollm2: R1-Zero on the real SmolLM2-135M-Instruct <= 45 min)"
        ),
        description=(
            "Task data -> cold-start SFT -> GRPO -> distillation through a local transformers serve -> "
            "evaluation of all three models -> OUTPUT_DIR/report.html, report.md and results.json. "
            "Finished stages are skipped when rerun; each stage's own output goes to OUTPUT_DIR/logs/."
        ),
    )
    add_dataclass_arguments(parser, DemoConfig)
    parser.set_defaults(func=run)


def run(args) -> int:
    import dataclasses

    from r1lab.demo import DemoConfig, make_config, run_demo

    fields = {f.name: f for f in dataclasses.fields(DemoConfig)}
    options = {k: v for k, v in vars(args).items() if k in fields}
    for name in MAPPING_OPTIONS:
        if name in options:
            options[name] = _mapping(options[name], name)
    run_demo(make_config(options, where="command line"))
    return 0


def _mapping(value, name: str):
    """A dict option typed on the command line as YAML/JSON: '{beta: 0.04}' or 'accuracy=1,format=0.1'."""
    import yaml

    from r1lab.errors import ConfigError

    if not isinstance(value, str):
        return value
    text = value.strip()
    if "=" in text and not text.startswith("{"):
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        return {k.strip(): yaml.safe_load(v) for k, v in pairs}
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--{name.replace('_', '-')}: not a mapping: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"--{name.replace('_', '-')}: expected a mapping like '{{key: value}}', got {value!r}"
        )
    return loaded
