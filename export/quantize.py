"""`lsnet export quantize`: INT8 or FP16 written into the ONNX graph, for TensorRT 10 and 11 alike.

- `--int8`: NVIDIA Model Optimizer's ONNX post-training quantization (`modelopt.onnx.quantization`,
  the `quantize` extra), calibrated on ONNX Runtime's CPU: it measures activation ranges on the
  calibration images (`max` or `entropy`) and writes QuantizeLinear/DequantizeLinear pairs before
  every node it quantizes — all but `quantize_nodes.keep_out`. The rest of the graph is then written
  in FP16 (`--high-precision fp16`, the default: what a fast TensorRT 11 engine runs) or left FP32,
  with the FP32 parts of `engine_precision` kept FP32 either way.
- `--fp16`: `engine_precision.to_float16` — FP16 everywhere but those FP32 parts, the same rewrite
  a TensorRT 11 FP16 build applies to an FP32 graph. Preferred to ModelOpt's AutoCast (which can
  keep the same nodes by name): equal AP on the committed models (README), no ModelOpt needed,
  Casts only where the FP32 parts meet the rest, and well under a second instead of a reference run
  of the whole graph.

Both keep the model description and add a `precision` record to the export record
(`explicit_precision`): tool, calibration, and every node kept out of INT8 with its reason. The
input is never touched: ModelOpt runs on a copy in a temporary folder (it writes files beside
its input), and the result is written atomically.
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx_graphsurgeon as gs

from lsnet.description import ModelDescription, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError, first_line
from lsnet.export.calibration import DEFAULT_SPLIT, calibration_folder, select_images
from lsnet.export.engine_precision import fp32_parts, model_description, to_float16
from lsnet.export.explicit_precision import QDQ_OPS, copy_metadata, graph_precision
from lsnet.export.quantize_nodes import keep_out, summarise

PRECISIONS = ("int8", "fp16")
METHODS = ("max", "entropy")
HIGH_PRECISIONS = ("fp16", "fp32")


@dataclass
class QuantizeOptions:
    precision: str = "int8"
    calib: Path | None = None  # a COCO-layout dataset (its calib_split) or a folder of images
    calib_split: str = DEFAULT_SPLIT
    calib_images: int = 256
    calib_method: str = "max"
    high_precision: str = "fp16"  # INT8: what the nodes without Q/DQ compute in
    exclude_nodes: tuple[str, ...] = ()
    exclude_op_types: tuple[str, ...] = ()
    include_nodes: tuple[str, ...] = ()
    include_op_types: tuple[str, ...] = ()
    verbose: bool = False  # ModelOpt's own log


@dataclass
class QuantizeReport:
    out: Path
    record: dict
    seconds: float

    def summary(self) -> str:
        r = self.record
        fp32 = sum(sum(ops.values()) for ops in r["fp32"].values())
        if r["mode"] == "fp16":
            return f"FP16 graph, {fp32} nodes kept FP32 ({', '.join(r['fp32'])}), in {self.seconds:.0f} s"
        calib = r["calibration"]
        kept = ", ".join(f"{reason} {sum(ops.values())}" + (f" ({ops['Conv']} Conv)" if "Conv" in ops else "")
                         for reason, ops in r["kept_out"].items())
        return (f"INT8 Q/DQ before {r['quantized_nodes']} nodes ({r['qdq_pairs']} Q/DQ pairs), calibrated "
                f"({calib['method']}) on {calib['images']} images of {calib['folder']} in {self.seconds:.0f} s; kept out of INT8 (nodes): "
                f"{kept}; without Q/DQ {r['high_precision'].upper()}, {fp32} nodes FP32 (lists in the export record)")


def default_output(src: Path, precision: str) -> Path:
    """model.onnx → model.int8.onnx / model.fp16.onnx."""
    return src.with_suffix(f".{precision}.onnx")


def check_options(options: QuantizeOptions) -> None:
    for value, allowed, what in ((options.precision, PRECISIONS, "precision"),
                                 (options.calib_method, METHODS, "--calib-method"),
                                 (options.high_precision, HIGH_PRECISIONS, "--high-precision")):
        if value not in allowed:
            raise LSNetError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    int8_only = (options.calib, options.exclude_nodes, options.exclude_op_types, options.include_nodes,
                 options.include_op_types)
    if options.precision == "int8" and options.calib is None:
        raise LSNetError("--int8 needs --calib DIR: a COCO-layout dataset (its train split is used) or a folder "
                         "of images like the deployment's")
    if options.precision == "fp16" and any(int8_only):
        raise LSNetError("--calib and the --exclude/--include options are for --int8")
    if options.calib_images < 1:
        raise LSNetError(f"--calib-images must be ≥ 1, got {options.calib_images}")


def load_source(src: Path) -> onnx.ModelProto:
    """The portable FP32 lsnet ONNX at `src`; LSNetError for anything else."""
    if not src.is_file():
        raise LSNetError(f"{src} not found")
    try:
        model = onnx.load(src)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        raise LSNetError(f"{src} is not an ONNX model ({first_line(e)})") from None
    if read_onnx_record(onnx_metadata(model), src).patched is not None:
        raise LSNetError(f"{src} is patched with plugin nodes; quantize the portable export, then patch the result")
    precision = graph_precision(model)
    if precision != "fp32":
        what = "Q/DQ nodes" if precision == "int8" else "float16 types"
        raise LSNetError(f"{src} is already {precision.upper()} ({what}); quantize the FP32 export of "
                         "`lsnet export onnx`")
    return model


def quantize_onnx(src: str | Path, dst: str | Path, options: QuantizeOptions | None = None,
                  log: Callable[[str], None] = print) -> QuantizeReport:
    """The portable FP32 ONNX at `src` with explicit INT8 or FP16, written to `dst`."""
    from lsnet.export.patch import write_onnx

    src, dst, options = Path(src), Path(dst), options or QuantizeOptions()
    check_options(options)
    started = time.perf_counter()
    model = load_source(src)
    if options.precision == "fp16":
        out, fp32_names = to_float16(model)
        graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
        record = {"mode": "fp16", "tool": "lsnet to_float16",
                  "fp32": _fp32_summary(graph, model_description(model), set(fp32_names))}
    else:
        out, record = _quantize_int8(src, model, options, log)
    copy_metadata(model, out, record)
    onnx.checker.check_model(out, full_check=True)
    write_onnx(out, dst)
    return QuantizeReport(dst, record, time.perf_counter() - started)


def _fp32_summary(graph: gs.Graph, description: ModelDescription, names: set[str]) -> dict[str, dict[str, int]]:
    """Reason → {op: count} of the FP32 nodes named `names`."""
    parts = fp32_parts(graph, description)
    return {reason: dict(Counter(n.op for n in nodes if n.name in names).most_common())
            for reason, nodes in parts.items() if any(n.name in names for n in nodes)}


def _modelopt_quantize():
    try:
        from modelopt.onnx import trt_utils
        from modelopt.onnx.quantization import quantize
    except ImportError as e:
        raise LSNetError(f"INT8 quantization needs NVIDIA ModelOpt ({e}): pip install 'lsnet-trt[quantize]'") from None
    # Where `import tensorrt` succeeds, ModelOpt parses the model with TensorRT to look for custom ops.
    # A portable lsnet graph has none, calibration runs on ONNX Runtime's CPU, and the import also
    # succeeds for what is not TensorRT (tensorrt-stubs, a folder named tensorrt: docs/toolchain.md)
    # or cannot build here (no GPU): quantization never needs TensorRT, so ModelOpt is told so.
    trt_utils.TRT_PYTHON_AVAILABLE = False
    return quantize


def _quantize_int8(src: Path, model: onnx.ModelProto, options: QuantizeOptions,
                   log: Callable[[str], None]) -> tuple[onnx.ModelProto, dict]:
    description = model_description(model)
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
    kept = keep_out(graph, description, options.exclude_nodes, options.exclude_op_types, options.include_nodes,
                    options.include_op_types)
    folder = calibration_folder(options.calib, options.calib_split)
    paths = select_images(folder, options.calib_images)
    reader = CalibrationImages(paths, description, *_static_input(model, description))
    log(f"calibrating on {len(paths)} images of {folder} ({options.calib_method}), "
        f"{len(graph.nodes) - len(kept)} of {len(graph.nodes)} nodes may be quantized …")
    quantize = _modelopt_quantize()
    with tempfile.TemporaryDirectory(prefix="lsnet-quantize-") as tmp:
        copy = Path(tmp) / "model.onnx"
        shutil.copyfile(src, copy)
        try:
            quantize(str(copy), quantize_mode="int8", calibration_data_reader=reader,
                     calibration_method=options.calib_method, calibration_eps=["cpu"],
                     nodes_to_exclude=_exact_names(kept), high_precision_dtype="fp32",
                     output_path=str(Path(tmp) / "model.int8.onnx"),
                     log_level="INFO" if options.verbose else "CRITICAL")
        except LSNetError:
            raise
        except Exception as e:  # inside ModelOpt: one line, its traceback with --verbose
            if options.verbose:
                raise
            raise LSNetError(f"ModelOpt could not quantize {src} ({type(e).__name__}: {first_line(e)}); "
                             "--verbose shows its log and traceback") from None
        finally:
            reader.close()
        quantized = onnx.load(Path(tmp) / "model.int8.onnx")
    copy_metadata(model, quantized, {})  # to_float16 reads the description
    ops = {n.name: n.op for n in graph.nodes}
    fp32_names = list(ops)  # --high-precision fp32: whatever has no Q/DQ stays FP32
    if options.high_precision == "fp16":
        quantized, fp32_names = to_float16(quantized)
    record = {"mode": "int8", "tool": f"nvidia-modelopt {_version('nvidia-modelopt')}",
              "high_precision": options.high_precision,
              "calibration": {"folder": str(folder.resolve()), "images": len(paths), "method": options.calib_method,
                              "canvas": list(reader.canvas)},
              "qdq_pairs": sum(n.op_type == "QuantizeLinear" for n in quantized.graph.node),
              "quantized_nodes": len(set(_dequantized_readers(quantized)) - set(kept)),
              "kept_out": summarise(kept, ops),
              "kept_out_nodes": {reason: [name for name, why in kept.items() if why == reason]
                                 for reason in dict.fromkeys(kept.values())},
              "fp32": _fp32_summary(graph, description, set(fp32_names))}
    return quantized, record


def _exact_names(names) -> list[str]:
    """ModelOpt's node-name patterns (`re.match`) for exactly `names`: one alternation, since it
    matches every pattern against every node in Python."""
    return [f"(?:{'|'.join(map(re.escape, names))})$"] if names else []


def _dequantized_readers(model: onnx.ModelProto) -> list[str]:
    """Nodes (other than Q/DQ) that read a DequantizeLinear output: the quantized ones, and kept-out
    ones that share a quantized node's input (they get it dequantized)."""
    dequantized = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return [n.name for n in model.graph.node if n.op_type not in QDQ_OPS and dequantized & set(n.input)]


def _static_input(model: onnx.ModelProto, description: ModelDescription) -> tuple[str, int, tuple[int, int]]:
    """(input name, calibration batch, canvas): the graph's own where fixed, else 1 and the
    description's input size."""
    from lsnet.export.engine import input_shape

    name, dims = input_shape(model)
    batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else 1
    fixed = all(isinstance(d, int) and d > 0 for d in dims[2:])
    if description.takes_frames:  # frames of any size in, letterboxed onto the model's canvas by the graph
        return name, batch, tuple(description.input_size)
    return name, batch, (tuple(dims[2:]) if fixed else tuple(description.input_size))


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


class CalibrationImages:
    """ModelOpt's calibration data reader (ONNX Runtime's `get_next` protocol, plus `get_first`
    and `rewind`): the images read and pre-processed one batch at a time, with a progress bar."""

    def __init__(self, paths: list[Path], description: ModelDescription, input_name: str, batch: int,
                 canvas: tuple[int, int]):
        if len(paths) % batch:
            raise LSNetError(f"{len(paths)} calibration images do not fill batches of {batch} (the model's "
                             f"fixed batch): ask for a multiple of {batch}")
        self.paths, self.description, self.input_name = paths, description, input_name
        self.batch, self.canvas = batch, canvas
        self.position, self.bar = 0, None

    def _load(self, start: int) -> dict[str, np.ndarray]:
        from lsnet.runtime.preprocess import preprocess, stack_frames
        from lsnet.runtime.sources import read_image

        images = [read_image(p) for p in self.paths[start:start + self.batch]]
        if self.description.takes_frames:
            # A frames model calibrates on the images as frames, through its own letterbox; the frames of
            # one batch share a size (one tensor), so a fixed batch > 1 takes the first image's.
            h, w = images[0].shape[:2]
            frames = [i if i.shape[:2] == (h, w) else cv2.resize(i, (w, h), interpolation=cv2.INTER_AREA)
                      for i in images]
            return {self.input_name: stack_frames(frames)[0]}
        return {self.input_name: preprocess(images, self.description, self.canvas)[0]}

    def get_first(self) -> dict[str, np.ndarray]:
        return self._load(0)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= len(self.paths):
            return None
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.paths), desc="calibrate", unit="img", leave=False,
                            disable=not sys.stderr.isatty())
        batch = self._load(self.position)
        self.position += self.batch
        self.bar.update(self.batch)
        return batch

    def rewind(self) -> None:
        self.position = 0

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
