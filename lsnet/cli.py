"""`lsnet VERB …`: one entry point, one verb per user task (docs/architecture.md §2).

Each verb lives in `lsnet/commands/<verb>.py` (`<verb>_.py` for a Python keyword, e.g. import)
with `add_parser(subparsers)`; the module is light at import time (heavy imports happen inside
its `run`), so `lsnet --help` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import keyword
import sys

from lsnet import __version__
from lsnet.errors import LSNetError

VERBS = ("data", "train", "eval", "export", "import", "infer", "bench", "compare", "checks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lsnet",
        description="LSNet detector toolkit: train, evaluate, export to ONNX/TensorRT, run and benchmark.",
        epilog="Run `lsnet VERB --help` for the options of each verb.",
    )
    parser.add_argument("--version", action="version", version=f"lsnet-trt {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = f"{verb}_" if keyword.iskeyword(verb) else verb
        importlib.import_module(f"lsnet.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except LSNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
