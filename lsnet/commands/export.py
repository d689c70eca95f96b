"""`lsnet export onnx|quantize|patch|engine|triton|checkpoint` (docs/architecture.md §2): a checkpoint to
portable ONNX, portable ONNX to explicit INT8 (Q/DQ) or FP16 ONNX, either to plugin ONNX, any of them (or the
checkpoint) to a TensorRT engine, an engine to a Triton model repository; and a training checkpoint to a small
deploy checkpoint.

Each subcommand is one `_add_<name>(sub)` that builds its parser and one `run_<name>(args)` that
calls its module in `lsnet.export` (heavy imports inside).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from lsnet.commands.arg_types import non_negative_int, positive_int
from lsnet.plugins import DEFAULT_MAX_CANDIDATES


def _add_onnx(sub) -> None:
    p = sub.add_parser(
        "onnx", help="checkpoint → portable ONNX (standard ops, runs on ONNX Runtime CPU)",
        description="Export CKPT to one self-contained ONNX file: the network, decoding and NMS in standard "
                    "ops, the model description in its metadata. Input `images` [B, 3, H, W] (normalised, "
                    "padded); outputs num_dets, boxes, scores, labels, landmarks. With --frames the input is "
                    "`frames` uint8 [B, H, W, 3], BGR frames of any size as a camera gives them (one size per "
                    "batch): the graph resizes, pads and normalises them onto the canvas, and its boxes and "
                    "landmarks are in frame pixels.")
    p.add_argument("checkpoint", metavar="CKPT", help="lsnet checkpoint (.pt)")
    p.add_argument("--out", metavar="F", help="ONNX file to write (default: CKPT with the suffix .onnx, "
                                              "or .frames.onnx with --frames)")
    p.add_argument("--frames", action="store_true",
                   help="pre-processing inside the graph: uint8 BGR frames of any size in, frame pixels out")
    p.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width (multiples of 32); "
                                                          "with --frames: dynamic batch (frames are any size anyway)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="batch size of a static export (default: 1)")
    p.add_argument("--imgsz", type=positive_int, nargs=2, metavar=("H", "W"),
                   help="input size (default: the checkpoint's input size)")
    p.add_argument("--opset", type=positive_int, default=19, help="ONNX opset, ≥ 19 for DeformConv (default: 19)")
    p.add_argument("--no-simplify", action="store_true", help="skip onnxslim (constant folding, dead-code removal)")
    p.set_defaults(run=run_onnx)


def _add_quantize(sub) -> None:
    p = sub.add_parser(
        "quantize", help="portable ONNX → INT8 (Q/DQ, calibrated) or FP16 ONNX for TensorRT 10 and 11",
        description="Write the precision into the graph, as TensorRT 11 requires and TensorRT 10 accepts (both "
                    "build it strongly typed): --int8 calibrates on --calib images with NVIDIA ModelOpt on ONNX "
                    "Runtime's CPU and writes Q/DQ nodes before the backbone, FPN and head-tower layers, keeping "
                    "the deformable sampling, decode + NMS, the head's score and vector outputs, the pyramid-DCN "
                    "offsets and normalisation out of INT8; --fp16 writes FP16 types except decode, head outputs, "
                    "offsets and normalisation (FP32). The result runs on ONNX Runtime like any export "
                    "(`lsnet eval` measures its AP), and `lsnet export patch` / `engine` take it.")
    p.add_argument("onnx", metavar="F", help="portable FP32 ONNX written by `lsnet export onnx`")
    p.add_argument("--out", metavar="G", help="ONNX to write (default: F with .int8.onnx or .fp16.onnx)")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--int8", action="store_const", dest="precision", const="int8",
                           help="INT8 Q/DQ, calibrated (the default)")
    precision.add_argument("--fp16", action="store_const", dest="precision", const="fp16", help="FP16 types")
    p.set_defaults(precision="int8")
    p.add_argument("--calib", metavar="DIR", help="INT8: calibration images — a COCO-layout dataset (its --calib-split, "
                                                 "never the split you evaluate on) or a folder of images")
    p.add_argument("--calib-split", default="train", metavar="NAME",
                   help="INT8: the split of a COCO-layout --calib (default: train)")
    p.add_argument("--calib-images", type=positive_int, default=256, metavar="N",
                   help="INT8: images to calibrate on, spread over the folder (default: 256)")
    p.add_argument("--calib-method", choices=("max", "entropy"), default="max",
                   help="INT8: activation range from the largest value seen, or the entropy-optimal clipping "
                        "(default: max)")
    p.add_argument("--high-precision", choices=("fp16", "fp32"), default="fp16",
                   help="INT8: what the layers without Q/DQ compute in (decode, head outputs, offsets and "
                        "normalisation stay FP32 either way; default: fp16)")
    p.add_argument("--exclude-nodes", nargs="+", default=(), metavar="RE",
                   help="INT8: also keep these nodes out (regular expressions matched at the start of node names)")
    p.add_argument("--exclude-op-types", nargs="+", default=(), metavar="OP", help="INT8: also keep these op types out")
    p.add_argument("--include-nodes", nargs="+", default=(), metavar="RE",
                   help="INT8: take these nodes off the kept-out list (ModelOpt then decides)")
    p.add_argument("--include-op-types", nargs="+", default=(), metavar="OP",
                   help="INT8: take these op types off the kept-out list")
    p.add_argument("--verbose", action="store_true", help="ModelOpt's log")
    p.set_defaults(run=run_quantize)


def _add_patch(sub) -> None:
    p = sub.add_parser(
        "patch", help="portable ONNX → plugin ONNX for TensorRT (LSNetPyramidDCN, LSNetDecode)",
        description="Swap the pyramid-DCN subgraphs (GridSample + Conv) and the decode subgraph of a portable "
                    "export for the LSNetPyramidDCN and LSNetDecode plugin nodes (namespace lsnet, version 1) "
                    "that TensorRT's ONNX parser maps to trt_plugins/. The rest of the graph and its metadata "
                    "are kept.")
    p.add_argument("onnx", metavar="F", help="portable ONNX written by `lsnet export onnx`")
    p.add_argument("--out", metavar="G", help="plugin ONNX to write (default: F with the suffix .trt.onnx)")
    p.add_argument("--max-candidates", type=positive_int, default=DEFAULT_MAX_CANDIDATES, metavar="N",
                   help=f"LSNetDecode: candidates per image entering NMS, 1 … 16384 "
                        f"(default: {DEFAULT_MAX_CANDIDATES})")
    p.set_defaults(run=run_patch)


def _add_engine(sub) -> None:
    p = sub.add_parser(
        "engine", help="checkpoint or ONNX → TensorRT engine (FP16 by default; INT8/FP16 graphs as written)",
        description="Build a TensorRT engine on this machine's GPU from MODEL: a checkpoint (.pt: exported and "
                    "patched on the way), a portable ONNX (patched on the way) or a patched ONNX — FP32, or INT8 "
                    "(Q/DQ) or FP16 from `lsnet export quantize`, which TensorRT 10 and 11 build strongly typed as "
                    "written. Our plugin library is loaded first. FP16 from an FP32 graph keeps the decode inputs, "
                    "the pyramid-DCN offsets and the normalisation layers in FP32 (TensorRT 10: pinned layers; "
                    "TensorRT 11: types written into the ONNX). Writes E and its sidecar E.json (model description, TensorRT version, GPU, "
                    "plugin library hash, build options), which loading checks.",
)
    p.add_argument("model", metavar="MODEL", help="checkpoint (.pt), portable or patched ONNX (.onnx)")
    p.add_argument("--out", metavar="E", help="engine to write (default: MODEL's name with .engine, e.g. model.trt.onnx → model.engine)")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--fp32", action="store_const", dest="precision", const="fp32",
                           help="no reduced precision (slow; for accuracy checks)")
    precision.add_argument("--int8", action="store_const", dest="precision", const="int8",
                           help="an FP32 graph: INT8 through TensorRT 10's calibrator on --calib-images (a fallback; "
                                "TensorRT 11 needs `lsnet export quantize --int8`). An INT8 graph needs no flag")
    p.set_defaults(precision="fp16")
    p.add_argument("--calib-images", metavar="DIR", help="--int8 fallback: images like the deployment's, a few hundred")
    p.add_argument("--calib-cache", metavar="F", help="--int8 fallback: calibration cache, read if present "
                                                     "(default: E.calib)")
    p.add_argument("--portable", action="store_true",
                   help="no lsnet plugins: TensorRT's own DeformConv, GridSample and NMS layers")
    p.add_argument("--frames", action="store_true",
                   help="a frames engine from a .pt or an images ONNX: uint8 BGR frames in, the letterbox on the GPU "
                        "(a frames ONNX is one already); --imgsz, --min-imgsz, --max-imgsz are then frame sizes "
                        "(default 1080×1920; --dynamic: 32×32 to 2160×3840)")
    p.add_argument("--batch", type=positive_int, metavar="N", help="batch size (static), the largest batch (--dynamic)")
    p.add_argument("--imgsz", type=positive_int, nargs=2, metavar=("H", "W"),
                   help="canvas size (the profile's opt; default: the model's input size); a frames model's "
                        "frame size (default 1080 1920)")
    p.add_argument("--dynamic", action="store_true", help="any batch 1…N and canvas between --min-imgsz and --max-imgsz")
    p.add_argument("--min-imgsz", type=positive_int, nargs=2, metavar=("H", "W"), help="--dynamic: smallest canvas (default "
                                                                               "two pad divisors)")
    p.add_argument("--max-imgsz", type=positive_int, nargs=2, metavar=("H", "W"), help="--dynamic: largest canvas "
                                                                               "(default --imgsz)")
    p.add_argument("--contexts", type=positive_int, default=1, metavar="N",
                   help="--dynamic: one optimisation profile per concurrent execution context, i.e. thread (default: 1)")
    p.add_argument("--workspace", type=positive_int, metavar="MB", help="TensorRT workspace limit (default: TensorRT's)")
    p.add_argument("--timing-cache", metavar="F", help="kernel timing cache, reused across builds and saved after")
    p.add_argument("--plugins", metavar="LIB", help="liblsnet_trt_plugins.so (default: $LSNET_PLUGIN_LIB, next to "
                                                     "the package, build/trt_plugins/)")
    p.add_argument("--device", default="cuda", help="GPU to build on: cuda (default) or cuda:N")
    p.add_argument("--max-candidates", type=positive_int, default=DEFAULT_MAX_CANDIDATES, metavar="N",
                   help="LSNetDecode candidates per image entering NMS, when patching on the way "
                        f"(default: {DEFAULT_MAX_CANDIDATES})")
    p.add_argument("--verbose", action="store_true", help="TensorRT's info messages")
    p.set_defaults(run=run_engine)


def _add_triton(sub) -> None:
    p = sub.add_parser(
        "triton", help="engine → Triton model repository (config.pbtxt, model.plan, notes)",
        description="Write REPO/NAME/config.pbtxt (platform tensorrt_plan, inputs and outputs from the engine's "
                    "sidecar, batching per its profile, instance groups), REPO/NAME/1/model.plan with its sidecar, "
                    "description.json and README.md (how to start tritonserver with the plugin library).",
)
    p.add_argument("engine", metavar="E", help="engine written by `lsnet export engine` (with its E.json)")
    p.add_argument("--repo", metavar="DIR", required=True, help="model repository folder")
    p.add_argument("--name", default="lsnet", help="model name, its folder in the repository (default: lsnet)")
    p.add_argument("--instances", type=positive_int, default=1, metavar="N", help="model instances, i.e. execution contexts (default: 1)")
    p.add_argument("--gpus", type=non_negative_int, nargs="+", metavar="I", help="GPU indices for the instances (default: all)")
    p.add_argument("--max-queue-delay-us", type=non_negative_int, default=100, metavar="US",
                   help="dynamic batching: how long a request may wait for others (default: 100)")
    p.set_defaults(run=run_triton)


def _add_checkpoint(sub) -> None:
    p = sub.add_parser(
        "checkpoint", help="training checkpoint → deploy checkpoint (weights + description, no training state)",
        description="Write the weights, model config and description of CKPT without the optimiser and training "
                    "state; --half stores the weights as float16 (half the size; loading casts them back to "
                    "float32). The models in models/ were written this way.")
    p.add_argument("checkpoint", metavar="CKPT", help="lsnet checkpoint (.pt), e.g. a run's best.pt")
    p.add_argument("--out", metavar="F", required=True, help="deploy checkpoint to write")
    p.add_argument("--half", action="store_true", help="store the weights as float16")
    p.set_defaults(run=run_checkpoint)


SUBCOMMANDS = (_add_onnx, _add_quantize, _add_patch, _add_engine, _add_triton, _add_checkpoint)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export to ONNX, patch for TensorRT, build engines, serve on Triton",
                                   description="Export a model for deployment: `onnx` writes the portable ONNX, "
                                               "`quantize` its INT8 or FP16 version, `patch` swaps its subgraphs "
                                               "for the TensorRT plugins, `engine` builds a TensorRT engine, "
                                               "`triton` a Triton model repository, "
                                               "`checkpoint` a small deploy checkpoint.")
    sub = parser.add_subparsers(dest="export_command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(sub)


def _size_mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def run_onnx(args: argparse.Namespace) -> int:
    from lsnet.export.onnx_export import export_onnx
    from lsnet.files import claim_outputs
    from lsnet.progress import Steps

    suffix = ".frames.onnx" if args.frames else ".onnx"
    out = Path(args.out) if args.out else Path(args.checkpoint).with_suffix(suffix)
    with claim_outputs([out], inputs=[args.checkpoint]), Steps("export onnx") as steps:
        written = export_onnx(args.checkpoint, out, dynamic=args.dynamic, batch=args.batch,
                              imgsz=tuple(args.imgsz) if args.imgsz else None, opset=args.opset,
                              simplify_graph=not args.no_simplify, progress=steps, frames=args.frames)
    if args.frames:
        shape = ("uint8 frames of any size, " + ("dynamic batch" if args.dynamic else f"batch {args.batch}")
                 + " (one frame size per batch)")
    else:
        shape = "dynamic batch, height and width" if args.dynamic else f"batch {args.batch}"
    print(f"wrote {written} ({_size_mb(written)}, opset {args.opset}, {shape})")
    patched = written.with_suffix(".trt.onnx")
    print(f"next: lsnet export patch {written} --out {patched}   |   lsnet infer {written} SOURCE   |   "
          f"lsnet bench {written}")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from lsnet.export.quantize import QuantizeOptions, default_output, quantize_onnx
    from lsnet.files import claim_outputs

    src = Path(args.onnx)
    out = Path(args.out) if args.out else default_output(src, args.precision)
    options = QuantizeOptions(
        precision=args.precision, calib=Path(args.calib) if args.calib else None, calib_split=args.calib_split,
        calib_images=args.calib_images, calib_method=args.calib_method, high_precision=args.high_precision,
        exclude_nodes=tuple(args.exclude_nodes), exclude_op_types=tuple(args.exclude_op_types),
        include_nodes=tuple(args.include_nodes), include_op_types=tuple(args.include_op_types), verbose=args.verbose)
    with claim_outputs([out], inputs=[src, args.calib]):
        report = quantize_onnx(src, out, options)
    print(f"wrote {report.out} ({_size_mb(report.out)}): {report.summary()}")
    print(f"next: lsnet eval {report.out} --data DIR (its val split)   |   lsnet compare {src} {report.out}   |   "
          f"lsnet export patch {report.out}")
    return 0


def run_patch(args: argparse.Namespace) -> int:
    from lsnet.export.patch import patch_onnx
    from lsnet.files import claim_outputs

    src = Path(args.onnx)
    out = Path(args.out) if args.out else src.with_suffix(".trt.onnx")
    with claim_outputs([out], inputs=[src]):
        report = patch_onnx(src, out, max_candidates=args.max_candidates)
    print(f"wrote {report.out} ({_size_mb(report.out)}): {report.summary()}")
    print(f"next: lsnet export engine {report.out} --out {report.out.with_suffix('').with_suffix('.engine')} "
          "(on the TensorRT machine, with the plugin library built: trt_plugins/README.md)")
    return 0


def engine_options(args: argparse.Namespace):
    """The `lsnet.export.engine.EngineOptions` of the parsed `lsnet export engine` arguments."""
    from lsnet.export.engine import EngineOptions

    def path(value):
        return Path(value) if value else None

    def size(value):
        return tuple(value) if value else None

    return EngineOptions(
        precision=args.precision, portable=args.portable, batch=args.batch, imgsz=size(args.imgsz),
        dynamic=args.dynamic, min_imgsz=size(args.min_imgsz), max_imgsz=size(args.max_imgsz), contexts=args.contexts,
        workspace_mb=args.workspace, timing_cache=path(args.timing_cache), calib_images=path(args.calib_images),
        calib_cache=path(args.calib_cache), plugins=path(args.plugins), device=args.device,
        max_candidates=args.max_candidates, frames=args.frames, verbose=args.verbose)


def default_engine_path(model: Path, frames: bool = False) -> Path:
    """model.pt / model.onnx / model.trt.onnx → model.engine; model.int8.trt.onnx → model.int8.engine
    (the precision stays in the name: an INT8 engine does not replace the FP16 one); a frames engine
    made with --frames is model.frames.engine, beside the images one."""
    name = model.name
    for suffix in (".pt", ".onnx", ".trt"):
        name = name.removesuffix(suffix)
    if frames and ".frames" not in name:
        name += ".frames"
    return model.with_name(name + ".engine")


def run_engine(args: argparse.Namespace) -> int:
    from lsnet.export.engine import build_engine
    from lsnet.files import claim_outputs
    from lsnet.runtime.engine_metadata import sidecar_path

    model = Path(args.model)
    out = Path(args.out) if args.out else default_engine_path(model, args.frames)
    with claim_outputs([out, sidecar_path(out)], inputs=[model]):
        report = build_engine(model, out, engine_options(args))
    print(f"wrote {report.out} ({_size_mb(report.out)}) and {report.sidecar.name}: {report.summary()}")
    print(f"next: lsnet infer {report.out} SOURCE   |   lsnet compare {args.model} {report.out}   |   "
          f"lsnet bench {report.out}   |   lsnet export triton {report.out} --repo DIR")
    return 0


def run_triton(args: argparse.Namespace) -> int:
    from lsnet.export.triton import write_triton_repository

    from lsnet.files import claim_outputs
    from lsnet.runtime.engine_metadata import sidecar_path

    plan = Path(args.repo) / args.name / "1" / "model.plan"
    with claim_outputs([plan], inputs=[args.engine, sidecar_path(args.engine)]):
        model = write_triton_repository(args.engine, args.repo, args.name, args.instances, args.gpus,
                                        args.max_queue_delay_us)
    print(f"wrote {model}/config.pbtxt, {model}/1/model.plan, {model}/description.json, {model}/README.md")
    print(f"next: tritonserver --model-repository={Path(args.repo)} (read {model}/README.md about the plugin library)")
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    from lsnet.model.checkpoint import load_model, save_checkpoint

    from lsnet.files import claim_outputs

    out = Path(args.out)
    with claim_outputs([out], inputs=[args.checkpoint]):
        model, description = load_model(args.checkpoint)
        save_checkpoint(out, model, description, half=args.half)
    print(f"wrote {out} ({_size_mb(out)}{', float16 weights' if args.half else ''})")
    print(f"next: lsnet eval {out} --data DIR   |   lsnet export onnx {out} --out {out.with_suffix('.onnx')}")
    return 0
