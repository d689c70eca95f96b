"""`lsnet export patch`: the portable ONNX with its pyramid-DCN and decode subgraphs swapped for
the `LSNetPyramidDCN` / `LSNetDecode` TensorRT plugin nodes (docs/architecture.md §2, §4).

The input is what `lsnet export onnx` writes (static or dynamic, simplified or not), or its INT8
(Q/DQ) or FP16 version from `lsnet export quantize`; the output keeps everything else of the graph
and its metadata, plus the key `lsnet_patched`. Each plugin takes FP32 or FP16, all inputs of one
type (trt_plugins/*/README.md): in an explicit-precision graph the plugin inputs are given the
type of the first one (the features, the first head map) by a Cast where they differ — the
pyramid-DCN offsets, FP32 up to the plugin, become FP16 there — and an input quantized to INT8
without a DequantizeLinear before the plugin is refused. It is meant for TensorRT's ONNX parser
with the plugin library loaded; on a CPU, the runtime's `twins` backend
(`lsnet.runtime.backends.twins_backend`) runs it with the plugins' CPU twins.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx_graphsurgeon as gs
from google.protobuf.message import DecodeError

from lsnet.description import PATCHED_METADATA_KEY, ModelDescription, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError
from lsnet.export.patch_decode import replace_decode
from lsnet.export.patch_pyramid_dcn import find_pyramid_dcn_calls, replace_pyramid_dcn_calls
from lsnet.export.plugin_nodes import (DECODE_OP, PLUGIN_DOMAIN, PLUGIN_NAMESPACE, PLUGIN_VERSION, PYRAMID_DCN_OP)
from lsnet.files import atomic_write
from lsnet.plugins import DEFAULT_MAX_CANDIDATES

CALLS_PER_LEVEL = 3  # each level's pyramid DCN samples three FPN levels (docs/lsnet-official.md §2.5)


@dataclass(frozen=True)
class PatchReport:
    out: Path
    pyramid_dcn_calls: int
    decode_nodes: int  # nodes of the decode subgraph the LSNetDecode node replaced
    nodes_before: int
    nodes_after: int

    def summary(self) -> str:
        return (f"replaced {self.pyramid_dcn_calls} pyramid-DCN subgraphs (GridSample+Conv) with {PYRAMID_DCN_OP}, "
                f"1 decode subgraph ({self.decode_nodes} nodes) with {DECODE_OP}; "
                f"{self.nodes_before} → {self.nodes_after} nodes")


def expected_pyramid_dcn_calls(description: ModelDescription) -> int:
    """3 calls per level for the classification branch and for each landmark branch.

    Pose with obj-box has two landmark branches (side midpoints + keypoints), every other model
    one (`lsnet.model.head.branches_for`).
    """
    branches = 2 if description.box_source == "side_midpoints" else 1
    return CALLS_PER_LEVEL * len(description.strides) * (1 + branches)


def _load(src: Path) -> onnx.ModelProto:
    if not src.is_file():
        raise LSNetError(f"{src} does not exist")
    try:
        return onnx.load(src)
    except (DecodeError, ValueError) as e:
        raise LSNetError(f"{src} is not an ONNX model ({e})") from None


def _description(model: onnx.ModelProto, src: Path) -> ModelDescription:
    record = read_onnx_record(onnx_metadata(model), src)
    if record.patched is not None:
        raise LSNetError(f"{src} is already patched (metadata '{PATCHED_METADATA_KEY}'); patch the portable export")
    return record.description


def _refuse_plugin_nodes(graph: gs.Graph, src: Path) -> None:
    plugins = [n for n in graph.nodes if n.domain == PLUGIN_DOMAIN or n.op in (PYRAMID_DCN_OP, DECODE_OP)]
    if plugins:
        raise LSNetError(f"{src} already has lsnet plugin nodes ({plugins[0].op}); patch the portable export")


def _replace_pyramid_dcn(graph: gs.Graph, description: ModelDescription) -> int:
    calls = find_pyramid_dcn_calls(graph)
    expected = expected_pyramid_dcn_calls(description)
    if len(calls) != expected:
        raise LSNetError(f"found {len(calls)} pyramid-DCN subgraphs (GridSample → Reshape → 1×1 Conv on "
                         f"18-channel offsets), expected {expected} for this {description.task} model: "
                         "not a portable lsnet export")
    replace_pyramid_dcn_calls(graph, calls)
    return len(calls)


FLOAT_TYPES = (np.float32, np.float16)


def _match_plugin_input_types(graph: gs.Graph) -> int:
    """Casts that give every input of each plugin node the type of its first input (module
    docstring), one per tensor and type, reusing a Cast the graph already has; how many were added."""
    tensors = graph.tensors()
    converted: dict[tuple[str, str], gs.Tensor] = {}
    added = 0
    for node in [n for n in graph.nodes if n.domain == PLUGIN_DOMAIN]:
        wanted = None if node.inputs[0].dtype is None else np.dtype(node.inputs[0].dtype)
        for i, tensor in enumerate(node.inputs):
            dtype = None if tensor.dtype is None else np.dtype(tensor.dtype)
            if dtype is not None and dtype not in FLOAT_TYPES:
                raise LSNetError(f"{node.op} input {tensor.name} is {dtype.name}: the plugins take FP32 or FP16, so an "
                                 "INT8 graph must dequantize (DequantizeLinear) before them")
            if wanted is None or dtype is None or dtype == wanted:
                continue
            key = (tensor.name, wanted.name)
            if key not in converted:
                converted[key] = _existing_cast(tensor, wanted, tensors) or _new_cast(graph, tensor, wanted, tensors)
                added += converted[key].name not in tensors
                tensors[converted[key].name] = converted[key]
            node.inputs[i] = converted[key]
    return added


def _existing_cast(tensor: gs.Tensor, dtype: np.dtype, tensors: dict[str, gs.Tensor]) -> gs.Tensor | None:
    """A tensor the graph already computes as `tensor` cast to `dtype` (an FP16 graph has them)."""
    for consumer in tensor.outputs:
        if (consumer.op == "Cast" and consumer.attrs.get("to") == onnx.helper.np_dtype_to_tensor_dtype(dtype)
                and consumer.outputs[0].name in tensors):
            return consumer.outputs[0]
    return None


def _new_cast(graph: gs.Graph, tensor: gs.Tensor, dtype: np.dtype, tensors: dict[str, gs.Tensor]) -> gs.Tensor:
    name = f"{tensor.name}/as_{dtype.name}"
    while name in tensors:
        name += "_"
    if isinstance(tensor, gs.Constant):
        return gs.Constant(name, tensor.values.astype(dtype))
    cast = gs.Variable(name, dtype=dtype, shape=tensor.shape)
    graph.nodes.append(gs.Node("Cast", name=f"{name}/cast", inputs=[tensor], outputs=[cast],
                               attrs={"to": onnx.helper.np_dtype_to_tensor_dtype(dtype)}))
    return cast


def write_onnx(model: onnx.ModelProto, dst: Path) -> None:
    """`model` to `dst`, atomically (`lsnet.files.atomic_write`): a failed write leaves no partial file there."""
    atomic_write(dst, model.SerializeToString())


def patch_onnx(src: str | Path, dst: str | Path, *, max_candidates: int = DEFAULT_MAX_CANDIDATES) -> PatchReport:
    """Portable lsnet ONNX at `src` → plugin ONNX at `dst` (written atomically); LSNetError if `src` is not one."""
    src, dst = Path(src), Path(dst)
    model = _load(src)
    description = _description(model, src)
    # Shapes of the intermediate tensors: the pyramid-DCN offsets are recognised by theirs.
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
    _refuse_plugin_nodes(graph, src)
    nodes_before = len(graph.nodes)
    pyramid_dcn_calls = _replace_pyramid_dcn(graph, description)
    decode_nodes = replace_decode(graph, description, max_candidates)
    _match_plugin_input_types(graph)
    graph.cleanup().toposort()

    patched = gs.export_onnx(graph)
    marker = {"pyramid_dcn_calls": pyramid_dcn_calls, "decode_nodes": decode_nodes, "max_candidates": max_candidates,
              "plugin_namespace": PLUGIN_NAMESPACE, "plugin_version": PLUGIN_VERSION, "source": src.name}
    for prop in model.metadata_props:
        patched.metadata_props.add(key=prop.key, value=prop.value)
    patched.metadata_props.add(key=PATCHED_METADATA_KEY, value=json.dumps(marker, sort_keys=True))
    onnx.checker.check_model(patched, full_check=True)
    write_onnx(patched, dst)
    return PatchReport(dst, pyramid_dcn_calls, decode_nodes, nodes_before, len(graph.nodes))
