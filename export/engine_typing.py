"""How `lsnet export engine` types the network: from the graph's own precision
(`explicit_precision.graph_precision`), the precision asked for, and the TensorRT major version.

| graph | asked | TensorRT 10 | TensorRT 11 |
|---|---|---|---|
| INT8 (Q/DQ) | fp16 (default) or int8 | strongly typed, no builder flags | strongly typed |
| FP16 | fp16 (default) | strongly typed, no builder flags | strongly typed |
| FP32 | fp32 | weakly typed, no flags | strongly typed (FP32 graph) |
| FP32 | fp16 | weakly typed: FP16 flag, FP32 parts pinned | FP16 written into the ONNX first (`to_float16`) |
| FP32 | int8 | fallback: INT8 + FP16 flags, entropy calibrator, FP32 parts pinned | refused: quantize first |

An explicit graph (INT8 or FP16) is built as written on both: TensorRT 10 is asked for a strongly
typed network (`NetworkDefinitionCreationFlag.STRONGLY_TYPED`, since 9.x), TensorRT 11 has no other
kind. Its Q/DQ nodes are the quantization (no calibrator), and builder precision flags are not
allowed there. `--fp32` on an explicit graph, and `--int8` on an FP16 one, are refused. The
TensorRT 10 calibrator path remains for FP32 graphs as a marked fallback: TensorRT deprecates
calibrators since 10.1 and removed them in 11 (docs/toolchain.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from lsnet.errors import LSNetError

QUANTIZE_HINT = "lsnet export quantize MODEL.onnx --int8 --calib DIR"


@dataclass(frozen=True)
class BuildPlan:
    precision: str  # what the engine computes in: fp32, fp16 or int8 (with FP16 and FP32 parts)
    explicit: bool  # the types come from the graph
    strongly_typed: bool
    network_flags: tuple[str, ...] = ()  # NetworkDefinitionCreationFlag names
    builder_flags: tuple[str, ...] = ()  # BuilderFlag names
    write_float16: bool = False  # rewrite the ONNX to FP16 before parsing (`engine_precision.to_float16`)
    pin_fp32: bool = False  # pin the FP32 parts' layers (weakly typed reduced precision)
    calibrator: bool = False  # TensorRT 10 implicit INT8: the fallback

    @property
    def typing(self) -> str:
        return "strong" if self.strongly_typed else "weak"


def check_graph_precision(graph: str, asked: str) -> None:
    """LSNetError where the precision asked for contradicts the one written in the graph (any TensorRT)."""
    if graph in ("int8", "fp16") and asked == "fp32":
        raise LSNetError(f"the model is an {graph.upper()} graph (its precision is written in it); build --fp32 "
                         "from the FP32 export of `lsnet export onnx`")
    if graph == "fp16" and asked == "int8":
        raise LSNetError(f"the model is an FP16 graph without Q/DQ nodes; for INT8 run `{QUANTIZE_HINT}` on the "
                         "FP32 export")


def build_plan(graph: str, asked: str, tensorrt_major: int) -> BuildPlan:
    """The plan for a graph of precision `graph` ("fp32", "fp16", "int8") built as `asked`."""
    modern = tensorrt_major >= 11
    check_graph_precision(graph, asked)
    if graph in ("int8", "fp16"):
        return BuildPlan(graph, explicit=True, strongly_typed=True,
                         network_flags=() if modern else ("STRONGLY_TYPED",))
    if graph != "fp32":
        raise LSNetError(f"unknown graph precision {graph!r}")
    if asked == "fp32":
        return BuildPlan("fp32", explicit=False, strongly_typed=modern)
    if asked == "fp16":
        if modern:
            return BuildPlan("fp16", explicit=False, strongly_typed=True, write_float16=True)
        return BuildPlan("fp16", explicit=False, strongly_typed=False, pin_fp32=True,
                         builder_flags=("FP16", "OBEY_PRECISION_CONSTRAINTS"))
    if asked == "int8":
        if modern:
            raise LSNetError("INT8 on TensorRT 11 needs Q/DQ (quantize/dequantize) nodes in the graph — TensorRT 11 "
                             f"removed calibrators: run `{QUANTIZE_HINT}` and build from its output")
        return BuildPlan("int8", explicit=False, strongly_typed=False, pin_fp32=True, calibrator=True,
                         builder_flags=("FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS"))
    raise LSNetError(f"precision must be one of fp32, fp16, int8, got {asked!r}")
