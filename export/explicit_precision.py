"""The precision an ONNX graph carries in itself, and the record of how it got there.

`lsnet export quantize` writes precision into the graph: INT8 as QuantizeLinear/DequantizeLinear
(Q/DQ) pairs, FP16 as float16 initializers and Casts. TensorRT 10 and 11 build such a graph strongly
typed — every layer computes in the type the graph gives it (docs/tensorrt.md) — and ONNX Runtime
runs it on the CPU like any other. What the graph is, is read from the graph itself
(`graph_precision`); how it was made (tool, calibration, what was kept in higher precision) is an
entry `precision` of the export record (ONNX metadata `lsnet_export`), which the engine sidecar
copies.
"""
from __future__ import annotations

import json

import onnx

from lsnet.description import EXPORT_INFO_KEY, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
INT8_TYPES = frozenset({onnx.TensorProto.INT8, onnx.TensorProto.UINT8})


def _quantized_types(model: onnx.ModelProto) -> set[int]:
    """The element types Q/DQ nodes quantize to (their zero points' types; INT8 where omitted)."""
    initializers = {t.name: t.data_type for t in model.graph.initializer}
    types = set()
    for node in model.graph.node:
        if node.op_type in QDQ_OPS:
            zero_point = node.input[2] if len(node.input) > 2 else ""
            types.add(initializers.get(zero_point, onnx.TensorProto.INT8) if zero_point else onnx.TensorProto.INT8)
    return types


def _has_float16(model: onnx.ModelProto) -> bool:
    if any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer):
        return True
    return any(node.op_type == "Cast" and attr.name == "to" and attr.i == onnx.TensorProto.FLOAT16
               for node in model.graph.node for attr in node.attribute)


def graph_precision(model: onnx.ModelProto) -> str:
    """"int8" (Q/DQ nodes), "fp16" (float16 types, no Q/DQ) or "fp32" (neither: precision is the
    engine builder's choice)."""
    types = _quantized_types(model)
    if types - INT8_TYPES:
        names = ", ".join(sorted(onnx.TensorProto.DataType.Name(t) for t in types - INT8_TYPES))
        raise LSNetError(f"the graph quantizes to {names}; lsnet builds INT8 Q/DQ graphs only")
    if types:
        return "int8"
    return "fp16" if _has_float16(model) else "fp32"


def export_record(model: onnx.ModelProto) -> dict:
    """The export record (`lsnet_export` metadata) of an lsnet ONNX, checked; {} if it has none."""
    return read_onnx_record(onnx_metadata(model), "the ONNX model").export_info


def precision_record(model: onnx.ModelProto) -> dict:
    """How the graph's precision was made ({} for an FP32 export)."""
    return export_record(model).get("precision", {})


def copy_metadata(source: onnx.ModelProto, target: onnx.ModelProto, precision: dict) -> None:
    """`target` gets `source`'s metadata (tools that rewrite graphs drop it), with `precision` in
    its export record."""
    del target.metadata_props[:]
    for prop in source.metadata_props:
        if prop.key != EXPORT_INFO_KEY:
            target.metadata_props.add(key=prop.key, value=prop.value)
    record = {**export_record(source), "precision": precision}
    target.metadata_props.add(key=EXPORT_INFO_KEY, value=json.dumps(record, sort_keys=True))



def float32_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes computing in FP32 by ONNX type inference: a float32 output, other than
    Casts and Q/DQ (which only convert)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *inferred.graph.output]}
    return [n.name for n in inferred.graph.node if n.op_type not in QDQ_OPS | {"Cast"}
            and any(types.get(o) == onnx.TensorProto.FLOAT for o in n.output)]
