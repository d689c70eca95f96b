"""`lsnet eval MODEL --data DIR`: COCO AP of any model file (docs/architecture.md §2)."""
from __future__ import annotations

import argparse
from pathlib import Path

from lsnet.commands.arg_types import non_negative_int
from lsnet.commands.runtime_options import add_backend_choice, add_backend_options, backend_options
from lsnet.errors import LSNetError, warn
from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="COCO AP of a model file (.pt, .onnx, .engine) on a COCO-format set",
        description="COCO metrics through pycocotools: bbox, segm (and bbox) or keypoints by the model's task. "
                    "--data DIR reads DIR/annotations/val.json and DIR/val/; --ann and --images name any "
                    "COCO-format set. The annotation file is checked first (ids, references, boxes, the fields the "
                    "task needs) and the model's class names matched to its categories.")
    p.add_argument("model", help="model file: .pt, .onnx, .trt.onnx (plugin CPU twins) or .engine")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="DIR", help="dataset in the COCO layout (its val split)")
    data.add_argument("--ann", metavar="JSON", help="COCO annotation file (with --images)")
    p.add_argument("--images", metavar="DIR", help="image folder of --ann")
    p.add_argument("--max-images", type=non_negative_int, default=0, metavar="N",
                   help="only the first N images (0: all)")
    add_backend_choice(p)
    add_backend_options(p)
    p.add_argument("--json", metavar="F", help='write {"bbox"|"segm"|"keypoints": {"AP": …, …}} here')
    p.set_defaults(run=run)


def annotation_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """(annotation file, image folder) from --data DIR or --ann/--images, checked."""
    if args.ann:
        if not args.images:
            raise LSNetError("--ann needs --images DIR (the folder its file_name entries are in)")
        ann, images = Path(args.ann), Path(args.images)
        if not ann.is_file():
            raise LSNetError(f"annotation file {ann} not found")
    else:
        root = Path(args.data)
        if not root.is_dir():
            raise LSNetError(f"dataset folder {root} does not exist")
        ann, images = root / "annotations" / "val.json", root / "val"
        if not ann.is_file():
            raise LSNetError(f"dataset folder {root} has no annotations/val.json (COCO layout: "
                             "DIR/annotations/val.json and DIR/val/); use --ann JSON --images DIR for another layout")
    if not images.is_dir():
        raise LSNetError(f"image folder {images} does not exist")
    return ann, images


def warn_if_calibrated_on(export_info: dict, images: Path) -> None:
    """An INT8 model scored on the images it was calibrated on scores optimistically: say so."""
    record = export_info.get("precision")
    folder = record.get("calibration", {}).get("folder") if isinstance(record, dict) else None
    if folder and Path(folder).resolve() == images.resolve():
        warn(f"the model was calibrated on {images} (`lsnet export quantize --calib`): AP on the same images "
             "is optimistic; evaluate on a split it was not calibrated on")


def format_metrics(metrics: dict[str, dict[str, float]]) -> str:
    """One row per iou type, one column per COCO statistic."""
    lines = []
    for iou_type, stats in metrics.items():
        lines.append(f"{iou_type:<9} " + "  ".join(f"{name:>6}" for name in stats))
        lines.append(f"{'':<9} " + "  ".join(f"{value:6.3f}" for value in stats.values()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from lsnet.evaluation.predict import evaluate_detector
    from lsnet.files import claim_outputs, write_json
    from lsnet.runtime import load

    ann, images = annotation_paths(args)
    with claim_outputs([args.json], inputs=[args.model, ann]):
        detector = load(args.model, args.backend, **backend_options(args))
        warn_if_calibrated_on(detector.export_info, images)
        metrics = evaluate_detector(detector, ann, images, args.max_images)
        subset = f", first {plural(args.max_images, 'image')}" if args.max_images else ""
        print(f"{args.model} ({detector.backend}) on {ann}{subset}")
        print(format_metrics(metrics))
        if args.json:
            print(f"wrote {write_json(args.json, metrics)}")
    print(f"next: lsnet bench {args.model}   |   lsnet infer {args.model} SOURCE")
    return 0
