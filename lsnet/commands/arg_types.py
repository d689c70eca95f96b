"""Types of command-line values, shared by every verb (`type=` of argparse): a value out of range
is refused while parsing, as one `error:` line, before any work starts (README "Guarantees")."""
from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|tensorrt)$")


def _number(text: str, kind=float) -> float | int:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{'an integer' if kind is int else 'a number'} expected, got {text!r}") \
            from None


def probability(text: str) -> float:
    """A score or IoU threshold: a number in [0, 1] (nan refused)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:  # False for nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer ≥ 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def existing_file(text: str) -> str:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a file" if Path(text).exists() else f"{text} not found")
    return text


def existing_folder(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder" if Path(text).exists() else f"{text} not found")
    return text


def existing_path(text: str) -> str:
    if not Path(text).exists():
        raise argparse.ArgumentTypeError(f"{text} not found")
    return text


def device(text: str) -> str:
    """cpu, cuda, cuda:N or tensorrt (ONNX Runtime's TensorRT provider); whether it exists here is
    checked by the backend that uses it."""
    if not DEVICE.match(text):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda, cuda:N or tensorrt, got {text!r}")
    return text
