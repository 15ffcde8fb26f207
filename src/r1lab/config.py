"""The one run-config model: typed dataclasses with help text, filled from YAML and the command line.

Every stage describes its options as a dataclass whose fields carry ``metadata={"help": ...}``
(the TRL convention). This module turns such a dataclass into argparse options, reads YAML recipes
into it, applies ``--key value`` overrides, coerces types, and rejects unknown keys with the
nearest valid one suggested, so a misspelt key can never be silently ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from r1lab.errors import ConfigError

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def field_help(field: dataclasses.Field) -> str:
    return field.metadata.get("help", "")


def suggest(name: str, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_error(key: str, valid: Iterable[str], where: str) -> ConfigError:
    valid = sorted(valid)
    return ConfigError(f"{where}: unknown key {key!r}{suggest(key, valid)}")


def _resolved_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        return tp, True
    return tp, False


def coerce(value: Any, tp: Any, name: str) -> Any:
    """Convert a YAML or command-line value to the field's declared type."""
    base, optional = _strip_optional(tp)
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null")):
        if optional or base is Any:
            return None
        raise ConfigError(f"{name}: may not be null")
    origin = typing.get_origin(base)
    if origin in (typing.Union, types.UnionType):  # e.g. int | Literal["auto"]: the first that fits
        for option in typing.get_args(base):
            if option is type(None):
                continue
            try:
                return coerce(value, option, name)
            except ConfigError:
                pass
        names = [
            " or ".join(map(repr, typing.get_args(a)))
            if typing.get_origin(a) is typing.Literal
            else a.__name__
            for a in typing.get_args(base)
            if a is not type(None)
        ]
        raise ConfigError(f"{name}: cannot read {value!r} as {' or '.join(names)}")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if base is float:
            return float(value)
        if base is str:
            return str(value)
        if origin in (list, Sequence, tuple):
            (inner,) = typing.get_args(base)[:1] or (Any,)
            if isinstance(value, str):
                value = [v for v in value.split(",") if v != ""]
            return [coerce(v, inner, name) for v in value]
        if origin in (dict, Mapping):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return dict(value)
        if typing.get_origin(base) is typing.Literal:
            if value not in typing.get_args(base):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: cannot read {value!r} as {getattr(base, '__name__', base)}") from None
    return value


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """Build a dataclass from a mapping; unknown keys are rejected with a suggestion."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _resolved_types(cls)
    kwargs = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise unknown_key_error(key, fields, where)
        kwargs[name] = coerce(value, hints[name], f"{where}: {name}")
    missing = [
        name
        for name, f in fields.items()
        if f.init and name not in kwargs and f.default is _MISSING and f.default_factory is _MISSING
    ]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise ConfigError(f"{where}: missing required option(s): {flags}")
    return cls(**kwargs)


def parse_overrides(args: Sequence[str]) -> dict[str, Any]:
    """``["--lr", "1e-5", "--use_peft", "--rewards", "a,b"]`` -> {"lr": "1e-5", "use_peft": True, ...}.

    ``--key=value`` works too; a flag with no value means True. Values stay strings: the dataclass
    coerces them to the field types.
    """
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"expected --key value, got {arg!r}")
        key = arg[2:]
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            value = args[i + 1]
            i += 2
        else:
            value, i = "true", i + 1
        out[key.replace("-", "_")] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def add_dataclass_arguments(
    parser: argparse.ArgumentParser, cls: type, *, exclude: Iterable[str] = ()
) -> None:
    """Add one ``--field-name`` option per dataclass field, with its help text and default.

    Defaults are left as ``argparse.SUPPRESS`` so that only options the user typed come back,
    and ``from_dict`` fills in the dataclass defaults. List fields take several values.
    """
    skip = set(exclude)
    hints = _resolved_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        base, _ = _strip_optional(hints[f.name])
        default = (
            f.default
            if f.default is not _MISSING
            else (f.default_factory() if f.default_factory is not _MISSING else None)
        )
        help_text = field_help(f) + (f" (default: {default})" if default not in (None, "", []) else "")
        help_text = help_text.replace("%", "%%")  # argparse %-formats help: "50% pass@1" broke --help
        flag = "--" + f.name.replace("_", "-")
        kwargs: dict[str, Any] = {"dest": f.name, "help": help_text, "default": argparse.SUPPRESS}
        if base is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(base) in (list, Sequence, tuple):
            kwargs["nargs"] = "+"
            kwargs["action"] = "extend"
        else:
            kwargs["metavar"] = f.name.upper()
        if f.default is _MISSING and f.default_factory is _MISSING:
            kwargs["required"] = True
        parser.add_argument(flag, **kwargs)


def from_args(cls: type[T], namespace: argparse.Namespace) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    given = {k: v for k, v in vars(namespace).items() if k in names}
    return from_dict(cls, given, where="command line")
