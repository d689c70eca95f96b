"""`lsnet VERB …`: one entry point, one verb per user task (docs/architecture.md §2).

Each verb lives in `lsnet/commands/<verb>.py` (`<verb>_.py` for a Python keyword, e.g. import)
with `add_parser(subparsers)`; the module is light at import time (heavy imports happen inside
its `run`), so `lsnet --help` is instant.

Whatever goes wrong because of the input or the machine ends as one `error: …` line and a
non-zero exit (README "Guarantees"): bad options (exit 2, from the parser), `LSNetError` (2),
an OS error reading or writing a file (2), Ctrl-C (130).
"""
from __future__ import annotations

import argparse
import importlib
import keyword
import sys

from lsnet import __version__
from lsnet.errors import LSNetError

VERBS = ("data", "train", "eval", "export", "import", "infer", "bench", "compare", "checks")


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (no usage block), pointing to `--help`."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    """Runs one command; returns its exit status (the parser's too: 0 after --help, 2 on a bad option)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    try:
        return int(args.run(args) or 0)
    except LSNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine, not the code: a file that cannot be read or written
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
