"""`lsnet eval MODEL --data DIR`: COCO AP of any model file (docs/architecture.md §2)."""
from __future__ import annotations

import argparse
from pathlib import Path

from lsnet.commands.arg_types import non_negative_int, probability
from lsnet.commands.runtime_options import add_backend_choice, add_backend_options, backend_options
from lsnet.errors import LSNetError, warn
from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval", help="COCO AP of a model file (.pt, .onnx, .engine) on a COCO-format set",
        description="COCO metrics through pycocotools: bbox, segm (and bbox) or keypoints by the model's task, "
                    "then per class AP, AP50, AP75 and recall at IoU 0.5 (R50: at every score; R50@S: of the "
                    "detections scored ≥ --score, what `lsnet infer` draws), and a precision–recall plot. "
                    "--data DIR reads DIR/annotations/val.json and DIR/val/; --ann and --images name any "
                    "COCO-format set, --images also a video whose frames the annotations name "
                    "(`lsnet data video --annotations`). The annotation file is checked first (ids, references, "
                    "boxes, the fields the task needs) and the model's class names matched to its categories.")
    p.add_argument("model", help="model file: .pt, .onnx, .trt.onnx (plugin CPU twins) or .engine")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="DIR", help="dataset in the COCO layout (its val split)")
    data.add_argument("--ann", metavar="JSON", help="COCO annotation file (with --images)")
    p.add_argument("--images", metavar="DIR", help="image folder of --ann, or the video its frames are from")
    p.add_argument("--max-images", type=non_negative_int, default=0, metavar="N",
                   help="only the first N images (0: all)")
    add_backend_choice(p)
    add_backend_options(p)
    p.add_argument("--score", type=probability, default=0.3,
                   help="the per-class table's R50@S counts detections scored ≥ this (default 0.3, as infer)")
    p.add_argument("--json", metavar="F",
                   help='write {"bbox"|"segm"|"keypoints": {"AP": …}, "per_class": {IOU_TYPE: {CLASS: {…}}}} here')
    p.add_argument("--plot", metavar="PNG",
                   help="write the precision–recall curves here (default: beside --json, F_pr.png)")
    p.set_defaults(run=run)


def annotation_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """(annotation file, image folder) from --data DIR or --ann/--images, checked."""
    if args.ann:
        if not args.images:
            raise LSNetError("--ann needs --images DIR (the folder its file_name entries are in)")
        ann, images = Path(args.ann), Path(args.images)
        if not ann.is_file():
            raise LSNetError(f"annotation file {ann} not found")
        if images.is_file():  # a video, whose frames the annotations name
            return ann, images
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


def format_per_class(iou_type: str, per_class: dict[str, dict[str, float]]) -> str:
    """One row per class (detectron2's per-category AP, with recall): '–' where it has no ground truth."""
    columns = list(next(iter(per_class.values())))
    width = max(9, *(len(name) for name in per_class))
    lines = [f"{iou_type + ' per class':<{width}} " + "  ".join(f"{c:>9}" for c in columns)]
    for name, row in per_class.items():
        cells = [f"{v:9d}" if c == "instances" else f"{'–':>9}" if v < 0 else f"{v:9.3f}" for c, v in row.items()]
        lines.append(f"{name:<{width}} " + "  ".join(cells))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from lsnet.evaluation.predict import evaluate_detector_coco
    from lsnet.files import claim_outputs, write_json
    from lsnet.runtime import load

    plot = Path(args.plot) if args.plot else Path(args.json).with_name(f"{Path(args.json).stem}_pr.png") \
        if args.json else None
    if plot is not None and plot.suffix.lower() != ".png":
        raise LSNetError(f"--plot {plot} must be a .png file")
    ann, images = annotation_paths(args)
    with claim_outputs([args.json, plot], inputs=[args.model, ann, images]):
        detector = load(args.model, args.backend, **backend_options(args))
        warn_if_calibrated_on(detector.export_info, images)
        evaluations = evaluate_detector_coco(detector, ann, images, args.max_images)
        metrics = {iou_type: e.stats for iou_type, e in evaluations.items()}
        per_class = {iou_type: e.per_class(args.score) for iou_type, e in evaluations.items()}
        subset = f", first {plural(args.max_images, 'image')}" if args.max_images else ""
        print(f"{args.model} ({detector.backend}) on {ann}{subset}")
        print(format_metrics(metrics))
        for iou_type, rows in per_class.items():
            print()
            print(format_per_class(iou_type, rows))
        written = []
        if args.json:
            written.append(str(write_json(args.json, {**metrics, "per_class": per_class})))
        if plot is not None:
            from lsnet.evaluation.plots import plot_precision_recall

            written.append(str(plot_precision_recall(evaluations, plot)))
        if written:
            print(f"wrote {', '.join(written)}")
    print(f"next: lsnet bench {args.model}   |   lsnet infer {args.model} SOURCE")
    return 0
