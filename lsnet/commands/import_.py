"""`lsnet import official` (docs/architecture.md §2): an official LSNet checkpoint (mmdet 2.2) and its
config → an lsnet checkpoint with the official options, ready for `export`, `infer` and `eval`.

(The module is `import_`, as the verb is a Python keyword.)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from lsnet.commands.arg_types import positive_int
from lsnet.errors import LSNetError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", help="bring in models trained elsewhere: official LSNet (mmdet) checkpoints",
        description="Convert a model trained elsewhere into an lsnet checkpoint. `official`: a checkpoint of the "
                    "official LSNet code (mmdetection 2.2).")
    sub = parser.add_subparsers(dest="import_command", metavar="SOURCE", required=True)
    p = sub.add_parser(
        "official", help="official LSNet checkpoint (+ its mmdet config) → lsnet checkpoint",
        description="Read CKPT (mmdet: meta, state_dict, optimizer; loaded without running any code it might hold) "
                    "and its config (a Python file, read without executing it, `_base_` files merged as mmcv does; "
                    "without --config, the config mmdet stored in the checkpoint; without either, what the weights "
                    "determine and the official R-50 configs for the rest). Sets the task, backbone, widths, tower, "
                    "strides, gradient multiplier, thresholds, input size, normalisation and class names from it, "
                    "and the options official weights need (cumulative pyramid-DCN offsets, the official pose taps); "
                    "writes F with the weights and the model description. What the config asks for and this model "
                    "cannot do is an error; what only concerns test-time augmentation is a note.")
    p.add_argument("checkpoint", metavar="CKPT", help="official checkpoint (.pth)")
    p.add_argument("--config", metavar="CONFIG", help="its mmdet config, e.g. configs/lsnet/lsnet_bbox_r50_fpn_1x_coco.py")
    p.add_argument("--out", metavar="F", required=True, help="lsnet checkpoint to write (.pt)")
    p.add_argument("--class-names", metavar="NAMES",
                   help="class names, comma-separated or a text file with one per line (default: the checkpoint's "
                        "meta CLASSES, else the config's dataset: COCO's 80, or person for pose)")
    p.add_argument("--imgsz", type=positive_int, nargs=2, metavar=("H", "W"),
                   help="network canvas (default: the config's test scale, 800 1333)")
    p.add_argument("--unofficial-option", action="append", default=[], metavar="KEY=VALUE",
                   help="on purpose, another value than the official weights were trained with: pdcn_offsets=exact, "
                        "pose_taps=symmetric (recorded in F; loading F accepts it). Repeatable")
    p.set_defaults(run=run_official)


def _class_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    path = Path(value)
    names = path.read_text().splitlines() if path.is_file() else value.split(",")
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise LSNetError(f"--class-names {value!r} gives no names")
    return names


def _options(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise LSNetError(f"--unofficial-option {item!r} is not of the form KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def run_official(args: argparse.Namespace) -> int:
    from lsnet.files import claim_outputs
    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.official_import import import_official
    from lsnet.runtime.preprocess import round_up

    out = Path(args.out)
    with claim_outputs([out], inputs=[args.checkpoint, args.config]):
        imported = import_official(args.checkpoint, args.config, _class_names(args.class_names),
                                   tuple(args.imgsz) if args.imgsz else None, _options(args.unofficial_option))
        save_checkpoint(out, imported.model, imported.description)
    cfg, d = imported.model.cfg, imported.description
    backbone = f"ResNe{'X' if cfg.groups > 1 else 't'}-{cfg.depth}" + (
        f" {cfg.groups}×{cfg.width_per_group}d" if cfg.groups > 1 else "") + (
        f" with DCNv2 in {', '.join(f'C{stage + 1}' for stage in cfg.dcn_stages)}" if cfg.dcn_stages else "")
    task = f"pose ({cfg.pose_box}-box)" if cfg.task == "pose" else cfg.task
    names = ", ".join(d.class_names[:3]) + (", …" if d.num_classes > 3 else "")
    print(f"read {args.checkpoint}: LSNet {task}, {backbone}, {d.num_classes} classes ({names}), "
          f"{cfg.tower} towers; options from {imported.config_source}")
    print(f"pdcn_offsets {cfg.pdcn_offsets}" + (f", pose_taps {cfg.pose_taps}" if cfg.task == "pose" else "")
          + f"; input {d.input_size[0]}×{d.input_size[1]}; score > {d.score_threshold:g}, NMS IoU {d.nms_iou_threshold:g}, "
          f"{d.max_detections} detections")
    for note in imported.notes:
        print(f"note: {note}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    # a static export needs a canvas of whole pad divisors: mmdet's 1333 pads to 1344
    h, w = (round_up(v, d.pad_divisor) for v in d.input_size)
    size = f" --imgsz {h} {w}" if (h, w) != d.input_size else ""
    print(f"next: lsnet export onnx {out} --out {out.with_suffix('.onnx')}{size}   |   lsnet eval {out} --data DIR   |   "
          f"lsnet infer {out} SOURCE")
    return 0
