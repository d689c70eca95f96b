"""The options of every verb that runs a model file (`infer`, `bench`, `eval`, `compare`): backend, device, threads."""
from __future__ import annotations

import argparse

from lsnet.commands.arg_types import device, non_negative_int


def add_backend_options(parser: argparse.ArgumentParser,
                        threads_help: str = "intra-op threads of PyTorch and ONNX Runtime (default: one per core)"
                        ) -> None:
    parser.add_argument("--device", type=device,
                        help="backend device: cpu, cuda, cuda:N (default: the backend's own)")
    parser.add_argument("--threads", type=non_negative_int, metavar="N", help=threads_help)
    parser.add_argument("--tight-canvas", action="store_true",
                        help="dynamic models (.pt, --dynamic exports): run each batch on the smallest canvas holding "
                             "it instead of the model's input size — less work on non-square input, but detections "
                             "then differ slightly from a fixed-size export's (default: the input size, every backend)")


def add_backend_choice(parser: argparse.ArgumentParser) -> None:
    from lsnet.runtime.backends import BACKENDS

    parser.add_argument("--backend", help=f"run MODEL with this backend instead of the one its file names "
                                          f"({', '.join(BACKENDS)}; default: by suffix, twins for a patched .onnx)")


def backend_options(args: argparse.Namespace) -> dict:
    """The --device/--threads/--tight-canvas the user gave, as `lsnet.runtime.load` options."""
    options = {k: v for k, v in (("device", args.device), ("threads", args.threads)) if v is not None}
    return {**options, "tight_canvas": True} if args.tight_canvas else options
