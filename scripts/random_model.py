#!/usr/bin/env python
"""An untrained LSNet checkpoint of any size, for speed measurements only (its detections are noise).

The architecture is `lsnet/default.yaml`'s (ResNet-50, 256-channel FPN and head, DCN towers)
unless told otherwise; the classes are the synthetic shapes. The README's R-50 scaling table:

    python scripts/random_model.py --depth 50 --imgsz 800 1344 --out runs/r50_random.pt
    lsnet bench runs/r50_random.pt --sizes 192 512 800x1344 720p 1080p --frames-model --runs 3 --warmup 1
"""
from __future__ import annotations

import argparse
import sys

import torch

from lsnet.data.render import SHAPE_NAMES
from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.model.checkpoint import save_checkpoint
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    parser.add_argument("--depth", type=int, default=50, help="ResNet depth (default 50)")
    parser.add_argument("--tower", default="dcn", help="dcn (default) or norm")
    parser.add_argument("--imgsz", type=int, nargs=2, default=(800, 1344), metavar=("H", "W"),
                        help="input size of the description (default 800 1344)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        torch.manual_seed(args.seed)
        config = ModelConfig(task="bbox", num_classes=len(SHAPE_NAMES), depth=args.depth, tower=args.tower)
        description = ModelDescription(task="bbox", class_names=list(SHAPE_NAMES), input_size=tuple(args.imgsz),
                                       extra={"note": "untrained: random weights, for speed measurements only"})
        save_checkpoint(args.out, LSNet(config).eval(), description)
    except LSNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (untrained ResNet-{args.depth} LSNet, input {args.imgsz[0]}×{args.imgsz[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
