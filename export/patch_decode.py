"""The decode + NMS subgraph of a portable LSNet graph → one `LSNetDecode` plugin node.

`lsnet.export.decode_graph` computes the graph outputs (`num_dets, boxes, scores, labels,
landmarks`) from the per-level head maps named by `level_tensor_names`, and from nothing else.
So the decode subgraph is whatever lies between those tensors and the outputs — found by that
contract, not by node names or counts (a simplifier may fold, merge or rename its nodes) — and
it is swapped only if it is closed: no other tensor reaches into it.
"""
from __future__ import annotations

import onnx_graphsurgeon as gs

from lsnet.description import BOX_SOURCES, ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.decode_graph import level_tensor_names
from lsnet.export.plugin_nodes import DECODE_OP, plugin_node
from lsnet.export.subgraph import nodes_between
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES, decode_output_names

MAX_CANDIDATES_RANGE = (1, 16384)


def decode_attributes(description: ModelDescription, max_candidates: int) -> dict:
    """The `LSNetDecode` attributes (trt_plugins/decode/README.md) of a model description."""
    d = description
    return {"num_landmarks": d.num_landmarks, "strides": [int(s) for s in d.strides],
            "box_source": BOX_SOURCES.index(d.box_source), "pre_nms_top_k": d.pre_nms_top_k,
            "score_threshold": float(d.score_threshold), "iou_threshold": float(d.nms_iou_threshold),
            "max_detections": d.max_detections, "max_candidates": max_candidates}


def _level_inputs(graph: gs.Graph, description: ModelDescription) -> list[gs.Tensor]:
    """The head maps the decode reads, interleaved per level as the plugin wants them."""
    tensors = graph.tensors()
    with_box = description.box_source == "side_midpoints"
    names = [n for level in range(len(description.strides)) for n in level_tensor_names(level, with_box)]
    missing = [n for n in names if n not in tensors]
    if missing:
        raise LSNetError(f"no decode subgraph found: the graph has no head map {missing[0]!r} "
                         "(was it exported by `lsnet export onnx`?)")
    return [tensors[n] for n in names]


def replace_decode(graph: gs.Graph, description: ModelDescription, max_candidates: int) -> int:
    """Swap the decode subgraph for an `LSNetDecode` node writing the same outputs; returns its node count."""
    low, high = MAX_CANDIDATES_RANGE
    if not low <= max_candidates <= high:
        raise LSNetError(f"max_candidates must be in {low} … {high}, got {max_candidates}")
    names = tuple(t.name for t in graph.outputs)
    if names != PADDED_OUTPUT_NAMES:
        raise LSNetError(f"no decode subgraph found: the graph outputs are {', '.join(names)}, "
                         f"not {', '.join(PADDED_OUTPUT_NAMES)}")
    tensors = graph.tensors()
    missing = [n for n in decode_output_names(description) if n not in tensors]
    if missing:
        raise LSNetError(f"no decode subgraph found: a frames model without the decode output {missing[0]!r}")
    outputs = [tensors[n] for n in decode_output_names(description)]  # graph outputs, or a frames model's canvas_…
    levels = _level_inputs(graph, description)
    decode_nodes = nodes_between(outputs, {t.name for t in levels})
    if not decode_nodes:
        raise LSNetError("no decode subgraph found: the outputs are not computed from the head maps alone")
    for tensor in outputs:
        tensor.inputs.clear()
    graph.nodes.append(plugin_node(DECODE_OP, "lsnet_decode", levels, outputs,
                                   decode_attributes(description, max_candidates)))
    return len(decode_nodes)
