"""Check settings read from a file (a pipeline TOML) against the types of the fields they set.

A TOML value of the wrong type (``vocab_size = "8000"``, ``sample_mb = nan``) would otherwise reach
a stage minutes into a run and end in a traceback; :func:`type_problems` names every bad key with
the type it needs, before anything is created.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as TOML gives it: str, int, float, bool, list, dict) fits ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if origin is Literal:
        return any(type(value) is type(arg) and value == arg for arg in args)
    if origin in (Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(conforms(v, a) for v, a in zip(value, args, strict=True))
    if origin in (list, Sequence):
        return isinstance(value, (list, tuple)) and (not args or all(conforms(v, args[0]) for v in value))
    if origin in (dict, Mapping) or hint is dict:
        return isinstance(value, dict)
    return True  # a type TOML cannot express: the stage's own checks decide


def describe(hint: Any) -> str:
    """``hint`` in words, as an error message wants it ("an integer", "a list of strings")."""
    origin, args = get_origin(hint), get_args(hint)
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    if hint in names:
        return names[hint]
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args if a is not type(None))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return f"a list of {len(args)} {_plural(args[0])}" if len(set(args)) == 1 else "a list"
    if origin in (dict, Mapping) or hint is dict:
        return "a table"
    return getattr(hint, "__name__", str(hint))


def _plural(hint: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(hint, describe(hint))


def shown(value: Any) -> str:
    """A value as it looks in TOML."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def type_problems(values: Mapping[str, Any], hints: Mapping[str, Any], *, where: str = "") -> list[str]:
    """One line per key of ``values`` whose value does not fit its hint in ``hints`` (unknown keys
    are left to the caller)."""
    prefix = f"{where} " if where else ""
    return [
        f"{prefix}{key} = {shown(value)}: expected {describe(hints[key])}"
        for key, value in values.items()
        if key in hints and not conforms(value, hints[key])
    ]


def field_types(cls: type) -> dict[str, Any]:
    """A dataclass's field types, resolved (modules use ``from __future__ import annotations``)."""
    return typing.get_type_hints(cls)
