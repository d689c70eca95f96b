"""The rules for values that come from outside — model files, sidecars, configs, annotation files,
command-line options — in one place, so that every reader refuses a bad value with the same kind
of one-line `LSNetError` (README "Guarantees"), never a TypeError deep inside.

Each check takes the value, its name and `where` it came from (a file, "config key"), and returns
the value in its Python type. No numpy, no torch: the runtime uses these on edge devices.
"""
from __future__ import annotations

import math
from collections.abc import Collection

from lsnet.errors import LSNetError


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite int or float (not a bool, not nan or inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail(where: str, name: str, wanted: str, value) -> LSNetError:
    return LSNetError(f"{where}: {name} must be {wanted}, got {value!r}")


def _range(minimum=None, maximum=None, above=None) -> str:
    parts = ([f"> {above:g}"] if above is not None else []) + ([f"≥ {minimum:g}"] if minimum is not None else [])
    parts += [f"≤ {maximum:g}"] if maximum is not None else []
    return " and ".join(parts)


def integer(value, name: str, where: str, minimum: int | None = None, maximum: int | None = None) -> int:
    bounds = _range(minimum, maximum)
    if not is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(where, name, "an integer" + (f" {bounds}" if bounds else ""), value)
    return value


def number(value, name: str, where: str, minimum: float | None = None, maximum: float | None = None,
           above: float | None = None) -> float:
    """A finite number in range; `above` is an exclusive lower bound."""
    bounds = _range(minimum, maximum, above)
    if (not is_number(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum)
            or (above is not None and value <= above)):
        raise _fail(where, name, "a number" + (f" {bounds}" if bounds else ""), value)
    return float(value)


def probability(value, name: str, where: str) -> float:
    return number(value, name, where, 0.0, 1.0)


def text(value, name: str, where: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value):
        raise _fail(where, name, "a string" if allow_empty else "a non-empty string", value)
    return value


def choice(value, name: str, where: str, choices: Collection) -> str:
    if value not in choices:
        raise _fail(where, name, f"one of {', '.join(map(str, choices))}", value)
    return value


def flag(value, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, name, "true or false", value)
    return value


def mapping(value, name: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, name, "a mapping", value)
    return value


def sequence(value, name: str, where: str, length: int | None = None, min_length: int = 0) -> list:
    """A list or tuple (not a string) of `length` items, or at least `min_length`."""
    if (not isinstance(value, (list, tuple)) or (length is not None and len(value) != length)
            or len(value) < min_length):
        wanted = f"a list of {length}" if length is not None else f"a list of at least {min_length}"
        raise _fail(where, name, f"{wanted} item{'s' * ((length or min_length) != 1)}", value)
    return list(value)


def integers(value, name: str, where: str, length: int | None = None, min_length: int = 1,
             minimum: int | None = None) -> list[int]:
    items = sequence(value, name, where, length, min_length)
    if not all(is_int(v) and (minimum is None or v >= minimum) for v in items):
        raise _fail(where, name, "a list of integers" + (f" ≥ {minimum}" if minimum is not None else ""), value)
    return items


def integer_set(value, name: str, where: str, minimum: int, maximum: int) -> list[int]:
    """A list of distinct integers in [minimum, maximum] (possibly empty), sorted."""
    if (not isinstance(value, (list, tuple)) or not all(is_int(v) and minimum <= v <= maximum for v in value)
            or len(set(value)) != len(value)):
        raise _fail(where, name, f"a list of distinct integers {_range(minimum, maximum)}", value)
    return sorted(value)


def numbers(value, name: str, where: str, length: int | None = None, min_length: int = 1,
            above: float | None = None, minimum: float | None = None) -> list[float]:
    items = sequence(value, name, where, length, min_length)
    ok = all(is_number(v) and (above is None or v > above) and (minimum is None or v >= minimum) for v in items)
    if not ok:
        raise _fail(where, name, "a list of finite numbers" + (f" {_range(minimum, None, above)}"
                                                               if above is not None or minimum is not None else ""),
                    value)
    return [float(v) for v in items]
