"""`lsnet compare MODEL…`: the same images through several models, and how their detections differ.

The first model is the reference; every other one is matched against it (`lsnet.runtime.compare`):
PyTorch vs ONNX Runtime on any machine, against a TensorRT engine on a GPU machine. A patched ONNX
(`lsnet export patch`) runs on the CPU with the plugins' twins (the runtime's `twins` backend), which
checks the patched graph before it meets TensorRT.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lsnet.commands.arg_types import non_negative_int, positive_int, probability
from lsnet.commands.runtime_options import add_backend_options, backend_options
from lsnet.errors import LSNetError
from lsnet.runtime.detector import Detector
from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compare", help="run the same images through several models and report how their detections differ",
        description="Run the same images through every MODEL (.pt, .onnx, patched .trt.onnx on the CPU twins, "
                    ".engine) and compare each with the first: detections matched above --score (same label, box "
                    "IoU ≥ --match-iou), missed and extra ones, box IoU, and the largest and mean differences of "
                    "boxes and landmarks (pixels) and scores — e.g. an INT8 or FP16 export against its FP32 one. "
                    "Images: --images (an image, a folder or a video), or synthetic scenes of the model's task "
                    "(fixed seed), each at its own size and aspect ratio; every model runs an image on the same "
                    "canvas, its input size (--tight-canvas: the smallest canvas, dynamic models only).")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model files; the first is the reference")
    p.add_argument("--images", metavar="PATH", help="image, folder of images or video (default: synthetic scenes)")
    p.add_argument("--count", type=positive_int, default=8, metavar="N", help="images to use (default: 8)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the synthetic scenes (default: 0)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="images per model call (default: 1)")
    p.add_argument("--score", type=probability, default=0.3,
                   help="compare detections scored at least this (default: 0.3)")
    p.add_argument("--match-iou", type=probability, default=0.5,
                   help="box IoU that makes two detections one (default: 0.5)")
    p.add_argument("--min-iou", type=probability, default=0.98,
                   help="models agree if no detection is missed or extra and every box IoU is ≥ this (default: 0.98)")
    add_backend_options(p)
    p.add_argument("--json", metavar="F", help="write the comparison here")
    p.set_defaults(run=run)


def load_model(path: Path, options: dict) -> Detector:
    from lsnet.runtime import load
    from lsnet.runtime.backends import backend_for

    return load(path, **backend_for(path).accepted(options))


def synthetic_images(task: str, count: int, seed: int, input_size: tuple[int, int]) -> list[np.ndarray]:
    """Validation-style scenes of `task` (`lsnet data synth`), sized around the model's input."""
    from lsnet.data.synth import DEFAULT_MAX_OBJECTS, scene

    size_range = (max(32, min(input_size) // 2), max(input_size))
    return [scene(task, seed, "val", index, size_range, DEFAULT_MAX_OBJECTS[task])[0] for index in range(count)]


def read_images(spec: str, count: int) -> list[np.ndarray]:
    from lsnet.runtime.sources import open_source

    source = open_source(spec)
    images = []
    try:
        for frame in source:
            images.append(frame.image)
            if len(images) == count:
                break
    finally:
        source.close()
    return images


# What models must share for their detections to be compared one to one.
COMPARABLE = ("task", "num_landmarks", "class_names")


def check_comparable(detectors: dict[str, Detector]) -> None:
    """LSNetError if a model is of another task or has other classes than the reference."""
    (reference_name, reference), *others = detectors.items()
    for name, detector in others:
        differences = reference.description.differences(detector.description, COMPARABLE)
        if differences:
            raise LSNetError(f"{reference_name} and {name} cannot be compared: {'; '.join(differences)}")


def same_input_size(detectors: dict[str, Detector]) -> None:
    """Every model must be made for one input size; each then runs an image on the same canvas
    (`lsnet.runtime.preprocess.batch_canvas`), at the image's own aspect ratio."""
    sizes = {tuple(d.description.input_size) for d in detectors.values()}
    if len(sizes) > 1:
        raise LSNetError(f"the models have different input sizes ({', '.join(f'{h}×{w}' for h, w in sorted(sizes))}); "
                         "compare models exported at the same size")


def model_precision(detector: Detector) -> str:
    """fp32, fp16 or int8: an explicit-precision ONNX's export record, an engine's build, else fp32."""
    value = detector.export_info.get("precision", "fp32")  # engines: the build's; ONNX: the export record's
    return value.get("mode", "fp32") if isinstance(value, dict) else value


def predict(detector: Detector, images: list[np.ndarray], batch: int) -> list:
    return [d for start in range(0, len(images), batch) for d in detector.predict(images[start:start + batch])]


def format_report(report: dict) -> str:
    def number(value, fmt: str) -> str:
        return "–" if value is None else fmt.format(value)

    rows = [["model", "backend", "precision", "dets", "matched", "missed", "extra", "IoU min", "IoU mean", "box Δ max",
             "landmark Δ max", "score Δ max", "verdict"],
            [report["reference"], report["reference_backend"], report["reference_precision"],
             str(report["reference_detections"])] + ["–"] * 8
            + ["reference"]]
    for name, s in report["models"].items():
        rows.append([name, s["backend"], s["precision"], str(s["detections"]), str(s["matched"]), str(s["missed"]),
                     str(s["extra"]),
                     number(s["box_iou_min"], "{:.4f}"), number(s["box_iou_mean"], "{:.4f}"),
                     number(s["box_abs_max"], "{:.3f}"), number(s["landmark_abs_max"], "{:.3f}"),
                     number(s["score_abs_max"], "{:.4f}"), "agree" if s["agree"] else "DIFFER"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)


def run(args: argparse.Namespace) -> int:
    from lsnet.files import claim_outputs, write_json
    from lsnet.runtime.compare import agree, compare_detections

    if len(args.models) < 2:
        raise LSNetError("compare needs at least two models; the first is the reference")
    with claim_outputs([args.json], inputs=[*args.models, args.images]):
        options = backend_options(args)
        detectors = {name: load_model(Path(name), options) for name in dict.fromkeys(args.models)}
        if len(detectors) < 2:
            raise LSNetError("compare needs at least two different model files")
        check_comparable(detectors)
        same_input_size(detectors)
        reference_name, reference = next(iter(detectors.items()))
        description = reference.description
        images = (read_images(args.images, args.count) if args.images
                  else synthetic_images(description.task, args.count, args.seed, description.input_size))
        source = args.images or f"synthetic {description.task} scenes, seed {args.seed}"
        h, w = description.input_size
        canvas = "each batch's smallest canvas (--tight-canvas)" if args.tight_canvas else f"the {h}×{w} input size"
        print(f"{plural(len(images), 'image')} ({source}), "
              f"reference {reference_name} ({reference.backend}), every model on {canvas}", file=sys.stderr)
        expected = predict(reference, images, args.batch)
        report = {"reference": reference_name, "reference_backend": reference.backend,
                  "reference_precision": model_precision(reference), "images": len(images),
                  "score": args.score, "match_iou": args.match_iou, "min_iou": args.min_iou,
                  "reference_detections": sum(int((d.scores >= args.score).sum()) for d in expected), "models": {}}
        for name, detector in list(detectors.items())[1:]:
            summary = compare_detections(expected, predict(detector, images, args.batch), args.score, args.match_iou)
            report["models"][name] = {"backend": detector.backend, "precision": model_precision(detector), **summary,
                                      "agree": agree(summary, args.min_iou)}
        print(format_report(report))
        if args.json:
            print(f"wrote {write_json(args.json, report)}")
    print(f"next: lsnet bench {args.models[-1]}   |   lsnet eval {args.models[-1]} --data DIR")
    return 0
