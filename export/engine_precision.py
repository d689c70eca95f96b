"""Which parts of an LSNet graph stay FP32 in a reduced-precision engine, and the FP16 ONNX that
TensorRT 11 builds from (docs/toolchain.md: strongly typed networks take their types from the graph).

Pinned to FP32, with the reason:
- the decode — the `LSNetDecode` node of a patched graph, or the decode + NMS subgraph of a
  portable one: top-k, score threshold and NMS compare scores and coordinates, and FP16 rounding
  reorders near ties (trt_plugins/decode/README.md; the plugin itself computes in FP32);
- the head outputs feeding it, from each head map back to its convolution inclusive: the class
  logits and the Softplus vectors, whose t-vs-b and l-vs-r comparisons pick each landmark's
  direction (docs/lsnet-official.md §2.2);
- the pyramid-DCN offsets, from each offset tensor back to the stage-1 convolution: the same
  comparisons, and the offsets are sampling positions in pixels (docs/lsnet-official.md §2.4); in a portable graph
  also the grid arithmetic between the offsets and GridSample;
- normalisation layers (the GroupNorm of towers and head): their mean and variance over whole
  maps lose accuracy in FP16;
- a frames model's letterbox and its mapping back to frame pixels (`frames_graph`): the
  resize, normalisation and scale in FP16 would round pixel values of 128–255 to 1/8 and
  frame coordinates above 2048 to 2 px; they are a few cheap layers.
The pyramid DCN itself runs at the engine's precision: its plugin takes one type for all its
inputs, so the FP32 offsets are rounded to FP16 at its input (1/32 px at offsets up to 64 px).
"""
from __future__ import annotations

import numpy as np
import onnx
import onnx_graphsurgeon as gs

from lsnet.description import ModelDescription, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError
from lsnet.export.decode_graph import level_tensor_names
from lsnet.export.frames_graph import letterbox_nodes
from lsnet.export.patch_pyramid_dcn import find_pyramid_dcn_calls
from lsnet.export.plugin_nodes import DECODE_OP, PYRAMID_DCN_OP
from lsnet.export.subgraph import SHAPE_READERS, data_inputs, nodes_between, producer

CONVOLUTIONS = frozenset({"Conv", "DeformConv", PYRAMID_DCN_OP})
NORMALISATIONS = frozenset({"InstanceNormalization", "GroupNormalization", "LayerNormalization", "BatchNormalization"})
# Inputs that ONNX types as float32 whatever the node's data type (Resize: roi may follow, scales must).
FLOAT32_INPUTS = {"Resize": (1, 2)}


def model_description(model: onnx.ModelProto) -> ModelDescription:
    return read_onnx_record(onnx_metadata(model), "the ONNX model").description


def back_to_convolutions(tensors: list[gs.Tensor]) -> list[gs.Node]:
    """The nodes computing `tensors`, walking back until (and including) the nearest convolutions."""
    found: dict[int, gs.Node] = {}
    seen: set[str] = set()
    pending = list(tensors)
    while pending:
        tensor = pending.pop()
        if tensor.name in seen:
            continue
        seen.add(tensor.name)
        node = producer(tensor)
        if node is None or id(node) in found:
            continue
        found[id(node)] = node
        if node.op not in CONVOLUTIONS:
            pending.extend(t for t in data_inputs(node) if isinstance(t, gs.Variable))
    return list(found.values())


def _grid_arithmetic(graph: gs.Graph) -> tuple[list[gs.Tensor], list[gs.Node]]:
    """Portable graph: the offset tensors of the pyramid-DCN calls, and the nodes turning them into
    GridSample grids (Conv ← Reshape ← GridSample(features, grid), `lsnet.export.patch_pyramid_dcn`)."""
    offsets, nodes = [], []
    for call in find_pyramid_dcn_calls(graph):
        sample = producer(producer(call.conv.inputs[0]).inputs[0])
        offsets.append(call.offset)
        nodes += nodes_between([sample.inputs[1]], {call.features.name, call.offset.name}) or []
    return offsets, nodes


# Why each part stays FP32 (module docstring); the keys name the parts in logs and export records.
DECODE, HEAD_OUTPUTS, OFFSETS, NORMALISATION = ("decode + NMS", "head outputs (scores, vectors)",
                                                "pyramid-DCN offsets", "normalisation")
LETTERBOX = "letterbox (frames model)"


def fp32_parts(graph: gs.Graph, description: ModelDescription) -> dict[str, list[gs.Node]]:
    """The nodes a reduced-precision engine keeps in FP32, by reason (module docstring); each node once."""
    tensors = graph.tensors()
    with_box = description.box_source == "side_midpoints"
    head_maps = [tensors[n] for level in range(len(description.strides))
                 for n in level_tensor_names(level, with_box) if n in tensors]
    if not head_maps:
        raise LSNetError("the graph has no head maps (cls_logits_0, …): not an lsnet export")
    decode = [n for n in graph.nodes if n.op == DECODE_OP]
    if decode:
        offsets, grids = [n.inputs[1] for n in graph.nodes if n.op == PYRAMID_DCN_OP], []
    else:
        decode = nodes_between(graph.outputs, {t.name for t in head_maps}) or []
        offsets, grids = _grid_arithmetic(graph)
    # the letterbox first: a frames graph's mapping to frame pixels also lies behind the decode
    parts = {LETTERBOX: letterbox_nodes(graph, description), DECODE: decode,
             HEAD_OUTPUTS: back_to_convolutions(head_maps),
             OFFSETS: grids + back_to_convolutions(offsets),
             NORMALISATION: [n for n in graph.nodes if n.op in NORMALISATIONS]}
    seen: set[int] = set()
    for name, nodes in parts.items():
        parts[name] = list({id(n): n for n in nodes if id(n) not in seen}.values())
        seen.update(id(n) for n in parts[name])
    return parts


def fp32_nodes(graph: gs.Graph, description: ModelDescription) -> list[gs.Node]:
    """The nodes a reduced-precision engine keeps in FP32 (module docstring), in graph order."""
    pinned = {id(n) for nodes in fp32_parts(graph, description).values() for n in nodes}
    return [n for n in graph.nodes if id(n) in pinned]


def fp32_tensor_names(model: onnx.ModelProto) -> list[str]:
    """Names of the outputs of the FP32 nodes: TensorRT 10's ONNX parser gives its layers' outputs
    these names, which is how `lsnet.export.engine` finds the layers to pin."""
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
    return sorted({t.name for node in fp32_nodes(graph, model_description(model)) for t in node.outputs})


class _Float16Rewriter:
    """Rewrites a graph so that every node but the kept ones computes in FP16, with Casts where
    FP16 and FP32 tensors meet; the graph input keeps its type (a Cast follows it), the outputs
    come from the kept decode."""

    def __init__(self, graph: gs.Graph, keep: list[gs.Node]):
        self.graph = graph
        self.keep = {id(n) for n in keep}
        self.half_constants: dict[str, gs.Constant] = {}
        self.casts: dict[tuple[str, int], gs.Variable] = {}
        # float32 tensors computed by FP16 nodes become float16
        self.halved = {t.name for n in graph.nodes if id(n) not in self.keep
                       for t in n.outputs if t.dtype == np.float32}

    def cast(self, tensor: gs.Tensor, to: int) -> gs.Variable:
        key = (tensor.name, to)
        if key not in self.casts:
            dtype = np.float16 if to == onnx.TensorProto.FLOAT16 else np.float32
            out = gs.Variable(f"{tensor.name}/as_{np.dtype(dtype).name}", dtype=dtype, shape=tensor.shape)
            self.graph.nodes.append(gs.Node("Cast", name=f"{out.name}/cast", attrs={"to": to},
                                            inputs=[tensor], outputs=[out]))
            self.casts[key] = out
        return self.casts[key]

    def half_constant(self, constant: gs.Constant) -> gs.Constant:
        if constant.name not in self.half_constants:
            limit = np.finfo(np.float16).max  # large sentinels stay large instead of becoming inf
            values = np.asarray(np.clip(constant.values, -limit, limit), dtype=np.float16)  # 0-d stays an array
            self.half_constants[constant.name] = gs.Constant(f"{constant.name}/fp16", values)
        return self.half_constants[constant.name]

    def rewire_inputs(self, node: gs.Node) -> None:
        half = id(node) not in self.keep
        for i, tensor in enumerate(node.inputs):
            if not tensor.name or node.op in SHAPE_READERS:
                continue
            wants_half = half and i not in FLOAT32_INPUTS.get(node.op, ())
            if isinstance(tensor, gs.Constant):
                if wants_half and tensor.values.dtype == np.float32:
                    node.inputs[i] = self.half_constant(tensor)
            elif tensor.name in self.halved and not wants_half:
                node.inputs[i] = self.cast(tensor, onnx.TensorProto.FLOAT)
            elif tensor.dtype == np.float32 and tensor.name not in self.halved and wants_half:
                node.inputs[i] = self.cast(tensor, onnx.TensorProto.FLOAT16)

    def retype(self, node: gs.Node) -> None:
        """Attributes that fix an FP16 node's output type."""
        if id(node) in self.keep or not any(t.name in self.halved for t in node.outputs):
            return
        if node.op == "Cast" and node.attrs.get("to") == onnx.TensorProto.FLOAT:
            node.attrs["to"] = onnx.TensorProto.FLOAT16
        value = node.attrs.get("value")  # ConstantOfShape, Constant
        if isinstance(value, gs.Constant) and value.values.dtype == np.float32:
            node.attrs["value"] = gs.Constant(value.name, value.values.astype(np.float16))

    def run(self) -> None:
        halved_outputs = [t.name for t in self.graph.outputs if t.name in self.halved]
        if halved_outputs:  # the decode writes them, and it is kept FP32: anything else is not an lsnet graph
            raise LSNetError(f"graph outputs {', '.join(halved_outputs)} are not computed by the FP32 decode")
        for node in list(self.graph.nodes):
            self.rewire_inputs(node)
            self.retype(node)
        for tensor in self.graph.tensors().values():
            if tensor.name in self.halved:
                tensor.dtype = np.float16


def to_float16(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """The model computing in FP16 except its FP32 nodes (module docstring), and their names.

    Inputs and outputs keep float32, so the runtime feeds and reads the engine as before.
    """
    description = model_description(model)
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(model))
    keep = fp32_nodes(graph, description)
    _Float16Rewriter(graph, keep).run()
    graph.cleanup().toposort()
    half = gs.export_onnx(graph)
    half.ir_version = model.ir_version
    del half.opset_import[:]
    half.opset_import.extend(model.opset_import)
    for prop in model.metadata_props:
        half.metadata_props.add(key=prop.key, value=prop.value)
    return half, [n.name for n in keep]
