"""``RunSettings``: the one record of how a run sampled, and the one resume guard built on it.

Every run that sends prompts to a server (``r1lab generate``, each benchmark of ``r1lab evaluate``,
the demo's served stages) builds one ``RunSettings`` from its config, and every file that records
the run is written from it: the shard manifest (``OUT.manifest.json``), an evaluation's
``settings.json`` and ``results.json``. Before this record the same fields were assembled in three
places and checked by two guards that could disagree.

The fields come in two kinds, and the difference is the point of the record:

- **identity** (``sampling()``): what the samples' distribution depends on: the model, samples per
  prompt, temperature, top-p, top-k, max tokens, seed, the prompt template and system prompt (as
  text, so a renamed preset cannot hide a change) the API and the extra request body. Resuming an
  output whose rows were drawn with other identity fields would mix two experiments in one file,
  so ``check_resume`` refuses it, naming each field that changed.
- **environment** (``environment()``): the server kind and version and the versions of r1lab,
  transformers, trl, torch and math-verify, plus ``use_n`` (one request with ``n`` draws the same
  distribution as ``n`` requests). These are recorded, never refused: a long run resumed after an
  upgrade is the normal case, and an upgrade that *does* change what the server samples is exactly
  what the environment record lets a reader find (every session's environment is kept in the
  manifest's ``environments``), and what the served-vs-in-process check of the demo catches.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The identity fields, in the order records show them.
IDENTITY_FIELDS = (
    "model",
    "num_samples",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "prompt_template",
    "system_prompt",
    "api",
    "extra_body",
)


#: How the samples of a seeded row are seeded: sample i gets seed + i (vLLM's rule for the i-th of
#: ``n`` choices). Recorded with a seed and several samples (``sampling()``), so that the resume guard
#: can tell an output begun before this rule, when one-request-per-sample runs sent every sample of a
#: row the same seed and got back one sample repeated.
SAMPLE_SEEDS = "seed + sample index"


@dataclass(frozen=True)
class RunSettings:
    """How one run samples (identity) and what it ran on (environment); see the module docstring."""

    model: str | None
    num_samples: int
    temperature: float
    top_p: float
    max_tokens: int
    prompt_template: str
    system_prompt: str | None
    api: str
    top_k: int | None = None
    seed: int | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    use_n: bool = False
    server: Mapping[str, str] = field(default_factory=dict)
    versions: Mapping[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        config: Any,
        *,
        num_samples: int,
        model: str | None = None,
        server: Mapping[str, str] | None = None,
    ) -> RunSettings:
        """The record of a run with ``config`` (a ``RequestOptions``); the config is only read.

        ``model``: the name requests carry when the caller resolved it (a served model's path);
        otherwise ``config.model``, or for ``serve_model`` the model's resolved path.
        """
        from r1lab.prompts import describe_system_prompt, resolve_template

        extra = json.loads(json.dumps(dict(config.extra_body), default=str))  # a copy, JSON-shaped
        top_k = getattr(config, "top_k", None)
        if top_k is None and isinstance(extra.get("top_k"), int):
            top_k = extra["top_k"]
        seed = extra.get("seed") if isinstance(extra.get("seed"), int) else getattr(config, "seed", None)
        return cls(
            model=model or config.model or _served_name(config.serve_model),
            num_samples=int(num_samples),
            temperature=float(config.temperature),
            top_p=float(config.top_p),
            top_k=top_k,
            max_tokens=int(config.max_tokens),
            seed=seed,
            prompt_template=resolve_template(config.prompt_template),
            system_prompt=describe_system_prompt(config.system_prompt),
            api=config.api,
            extra_body=extra,
            use_n=bool(config.use_n),
            server=dict(server or {}),
            versions=core_versions(),
        )

    def with_server(self, info: Mapping[str, str]) -> RunSettings:
        """The same record with the server that answered (kind, version) filled in."""
        return dataclasses.replace(self, server=dict(info))

    def sampling(self) -> dict[str, Any]:
        """The identity fields as JSON: what a resume must not change (and ``settings.json``), with
        ``sample_seeds`` where a seed meets several samples (only there: an unseeded run's identity,
        and so its shards' fingerprint, stays what earlier versions wrote)."""
        identity = {name: _plain(getattr(self, name)) for name in IDENTITY_FIELDS}
        if self.seed is not None and self.num_samples > 1:
            identity["sample_seeds"] = SAMPLE_SEEDS
        return identity

    def environment(self) -> dict[str, Any]:
        """What the run ran on: recorded, and allowed to change on resume."""
        return {"server": dict(self.server), "versions": dict(self.versions), "use_n": self.use_n}

    def to_dict(self) -> dict[str, Any]:
        return {**self.sampling(), **self.environment()}


def check_resume(before: Mapping[str, Any], now: Mapping[str, Any], where: str) -> None:
    """The resume guard: refuse when an identity field of ``now`` differs from ``before``.

    ``before`` and ``now`` are the identity parts of two records (plus whatever says which rows a
    run reads: the manifest's input fields); a field absent from ``before`` (an older record) is
    not a change, except ``sample_seeds``: a seeded record without it holds rows of the old seeding.
    Raises ``ConfigError`` naming every changed field, old -> new.
    """
    from r1lab.errors import ConfigError

    if now.get("sample_seeds") and "sample_seeds" not in before and before.get("seed") is not None:
        raise ConfigError(
            f"{where}: its rows were drawn before r1lab gave each sample of a seeded row its own seed "
            f"({SAMPLE_SEEDS}): sent one request per sample, a row's samples are one sample repeated. "
            "Use another output (--output / --output-dir), or delete it to start afresh"
        )
    changed = sorted(k for k in now if k in before and _plain(before[k]) != _plain(now[k]))
    if changed:
        detail = "; ".join(f"{k}: {before[k]!r} -> {now[k]!r}" for k in changed)
        raise ConfigError(
            f"{where}: holds rows of another run ({detail}); resuming would mix them. Use another "
            "output (--output / --output-dir), or delete it to start afresh"
        )


def engine_info(server: Any = None, base_url: str | None = None) -> dict[str, str]:
    """The server kind, mode and version: a ``LocalServer``'s own account, else a probe of ``base_url``
    (``generation.server.probe_engine_info``: best effort, never raises)."""
    from r1lab.generation.server import probe_engine_info

    if server is not None:
        return dict(server.engine_info())
    return dict(probe_engine_info(base_url)) if base_url else {}


@functools.lru_cache(maxsize=1)
def _core_versions() -> tuple[tuple[str, str | None], ...]:
    from r1lab.versions import core_versions as installed

    return tuple(installed().items())


def core_versions() -> dict[str, str | None]:
    """r1lab, transformers, trl, torch, math-verify (vllm when installed): read once per process."""
    return dict(_core_versions())


def _served_name(serve_model: str | None) -> str | None:
    """The model name a run of ``serve_model`` sends: the model's absolute path, as the server names it."""
    if not serve_model:
        return None
    return str(Path(serve_model).expanduser().resolve())


def _plain(value: Any) -> Any:
    """A value as JSON gives it back (tuples as lists, mappings as dicts), so records compare exactly."""
    return json.loads(json.dumps(value, default=str))
