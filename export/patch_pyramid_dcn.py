"""Pyramid-DCN calls of a portable LSNet graph → `LSNetPyramidDCN` plugin nodes.

`lsnet.model.pyramid_dcn.pyramid_deform_conv` exports as grid arithmetic on the offsets →
GridSample(features, grid) → Reshape to im2col columns [B, 9·C, H, W] → 1×1 Conv whose weight is
the 3×3 weight reshaped to [Cout, 9·C, 1, 1]. The per-node metadata naming the module does not
survive onnxslim (and simplifiers merge equal grid arithmetic across calls), so a call is found
by structure, from its end:

- a 1×1 Conv with a constant weight of 9·C input channels, fed by a Reshape of a bilinear,
  zero-padded GridSample: the call's output and weight; the GridSample's input is the features;
- the offsets: of the 4-D, 18-channel tensors the grid is computed from, the nearest one that
  cuts the grid off the rest of the graph (grid = f(offsets, features' shape, constants)).
  Nearest, so that a scaling applied to the offsets before the call — the cumulative mode's
  o·σ_prev (`LSHead._level_offsets`) — stays an ordinary Mul outside the plugin.

Each call becomes one plugin node writing the Conv's output tensor; the grid arithmetic,
GridSample, Reshape and Conv are left dangling for `graph.cleanup()`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import onnx_graphsurgeon as gs

from lsnet.export.plugin_nodes import PYRAMID_DCN_OP, plugin_node
from lsnet.export.subgraph import ancestors_nearest_first, nodes_between, producer

OFFSET_CHANNELS = 18  # (dy, dx) for each of the 9 taps
TAPS = 9
BILINEAR = ("bilinear", "linear")  # GridSample's mode name before / from opset 20


@dataclass
class PyramidDcnCall:
    conv: gs.Node  # the call's last node: its output becomes the plugin's
    features: gs.Tensor  # [B, C, Hl, Wl], the sampled level
    offset: gs.Tensor  # [B, 18, H, W] on the base level's grid
    weight: gs.Constant  # behind the Conv's weight: folded [Cout, 9·C, 1, 1], or the [Cout, C, 3, 3] parameter
    bias: gs.Tensor | None


def _attr(node: gs.Node, name: str, default):
    value = node.attrs.get(name, default)
    return value.decode() if isinstance(value, bytes) else value


def _constant_source(tensor: gs.Tensor) -> gs.Constant | None:
    """The constant behind `tensor`, through Reshape/Identity (which keep the memory order)."""
    while not isinstance(tensor, gs.Constant):
        node = producer(tensor)
        if node is None or node.op not in ("Reshape", "Identity"):
            return None
        tensor = node.inputs[0]
    return tensor


def _is_pointwise_conv(conv: gs.Node, weight: gs.Constant) -> bool:
    kernel = _attr(conv, "kernel_shape", None)
    if kernel is None:  # optional in ONNX: the weight's shape says
        kernel = (conv.inputs[1].shape or [])[2:]
    return (weight.values.size % (weight.shape[0] * TAPS) == 0
            and list(kernel) == [1, 1]
            and set(_attr(conv, "strides", [1, 1])) == {1}
            and set(_attr(conv, "dilations", [1, 1])) == {1}
            and set(_attr(conv, "pads", [0, 0, 0, 0])) == {0}
            and _attr(conv, "group", 1) == 1
            and _attr(conv, "auto_pad", "NOTSET") == "NOTSET")


def _sampling_grid_sample(conv: gs.Node) -> gs.Node | None:
    """The GridSample whose samples, reshaped to columns, the Conv contracts."""
    reshape = producer(conv.inputs[0])
    if reshape is None or reshape.op != "Reshape":
        return None
    sample = producer(reshape.inputs[0])
    if (sample is None or sample.op != "GridSample" or _attr(sample, "mode", "bilinear") not in BILINEAR
            or _attr(sample, "padding_mode", "zeros") != "zeros" or _attr(sample, "align_corners", 0) != 0):
        return None
    return sample


def _is_offset_shaped(tensor: gs.Tensor, output: gs.Tensor) -> bool:
    """[B, 18, H, W] on the call's output grid (where both are known); the sampling grid itself,
    [B, 9·H, W, 2], has 18 rows too where H = 2."""
    if tensor.shape is None or len(tensor.shape) != 4 or tensor.shape[1] != OFFSET_CHANNELS:
        return False
    grid = list(output.shape[2:]) if output.shape is not None and len(output.shape) == 4 else []
    return all(not (isinstance(a, int) and isinstance(b, int)) or a == b for a, b in zip(tensor.shape[2:], grid))


def _offset_of(grid: gs.Tensor, features: gs.Tensor, output: gs.Tensor) -> gs.Tensor | None:
    for tensor in ancestors_nearest_first(grid):
        if _is_offset_shaped(tensor, output) and nodes_between([grid], {features.name, tensor.name}) is not None:
            return tensor
    return None


def _match(conv: gs.Node) -> PyramidDcnCall | None:
    weight = _constant_source(conv.inputs[1])
    if weight is None or not _is_pointwise_conv(conv, weight):
        return None
    sample = _sampling_grid_sample(conv)
    if sample is None:
        return None
    features, grid = sample.inputs[:2]
    while producer(grid) is not None and producer(grid).op == "Cast":  # an FP16 graph casts the FP32 grid
        grid = producer(grid).inputs[0]
    offset = _offset_of(grid, features, conv.outputs[0])
    if offset is None:
        return None
    bias = conv.inputs[2] if len(conv.inputs) > 2 and conv.inputs[2].name else None
    return PyramidDcnCall(conv, features, offset, weight, bias)


def find_pyramid_dcn_calls(graph: gs.Graph) -> list[PyramidDcnCall]:
    """Every pyramid-DCN call of the graph, in graph order."""
    calls = (_match(node) for node in graph.nodes if node.op == "Conv" and len(node.inputs) >= 2)
    return [call for call in calls if call is not None]


def _plugin_weight(call: PyramidDcnCall, weights: dict[bytes, gs.Constant]) -> gs.Constant:
    """The call's weight as [Cout, C, 3, 3]; calls with equal weights share one constant.

    The portable graph holds one folded [Cout, 9·C, 1, 1] copy per call, though the 15 calls of a
    module share one weight: sharing it again divides the file's pyramid-DCN weights by 15.
    """
    values = call.weight.values
    values = np.ascontiguousarray(values.reshape(values.shape[0], -1, 3, 3))  # channel c·9 + k ↔ [c, k // 3, k % 3]
    key = hashlib.sha1(repr((values.shape, values.dtype.str)).encode() + values.tobytes()).digest()
    if key not in weights:
        weights[key] = gs.Constant(f"lsnet_pyramid_dcn/weight_{len(weights)}", values)
    return weights[key]


def replace_pyramid_dcn_calls(graph: gs.Graph, calls: list[PyramidDcnCall]) -> None:
    """One `LSNetPyramidDCN` node per call, writing the call's output tensor."""
    weights: dict[bytes, gs.Constant] = {}
    for index, call in enumerate(calls):
        output = call.conv.outputs[0]
        call.conv.outputs.clear()
        inputs = [call.features, call.offset, _plugin_weight(call, weights)]
        if call.bias is not None:
            inputs.append(call.bias)
        graph.nodes.append(plugin_node(PYRAMID_DCN_OP, f"lsnet_pyramid_dcn/{index}", inputs, [output]))
