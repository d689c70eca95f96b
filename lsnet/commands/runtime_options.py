"""The options of every verb that runs a model file (`infer`, `bench`, `eval`): device and threads."""
from __future__ import annotations

import argparse


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="backend device, e.g. cpu or cuda (default: the backend's own)")
    parser.add_argument("--threads", type=int,
                        help="intra-op threads of PyTorch and ONNX Runtime (default: one per core)")


def backend_options(args: argparse.Namespace) -> dict:
    """The --device/--threads the user gave, as `lsnet.runtime.load` options."""
    return {k: v for k, v in (("device", args.device), ("threads", args.threads)) if v is not None}
