"""Which nodes of a portable LSNet graph `lsnet export quantize --int8` keeps out of INT8, and why.

INT8 goes where it is safe and fast: the convolutions of the backbone, FPN and head towers, and the
adds, pools and resizes between them that ModelOpt quantizes so that TensorRT can fuse them. Kept
out, in the precision of the rest of the graph:
- deformable sampling: each pyramid-DCN call (GridSample → Reshape → 1×1 Conv, which `lsnet export
  patch` finds by that float structure and swaps for `LSNetPyramidDCN`) and any DeformConv — their
  inputs arrive dequantized, the sampling itself is not;
- what every reduced-precision engine keeps in FP32 (`lsnet.export.engine_precision.fp32_parts`):
  decode + NMS, the head's score and vector outputs (sigmoid inputs, landmark directions), the
  pyramid-DCN offsets and the normalisation layers.
Users add to the list by node-name pattern or op type, or take from it the same way.
"""
from __future__ import annotations

import re
from collections import Counter

import onnx_graphsurgeon as gs

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.engine_precision import fp32_parts
from lsnet.export.patch_pyramid_dcn import find_pyramid_dcn_calls
from lsnet.export.subgraph import producer

SAMPLING = "deformable sampling"
USER = "asked (--exclude-nodes/--exclude-op-types)"


def sampling_nodes(graph: gs.Graph) -> list[gs.Node]:
    """The pyramid-DCN calls (GridSample, Reshape, 1×1 Conv) and DeformConv nodes."""
    nodes = [n for n in graph.nodes if n.op == "DeformConv"]
    for call in find_pyramid_dcn_calls(graph):
        reshape = producer(call.conv.inputs[0])
        nodes += [producer(reshape.inputs[0]), reshape, call.conv]
    return nodes


def _matching(graph: gs.Graph, patterns: tuple[str, ...], op_types: tuple[str, ...], option: str) -> set[str]:
    """Names of the nodes whose name matches a pattern (`re.match`, as ModelOpt does) or whose op
    type is listed; LSNetError for a bad pattern, or one that matches nothing."""
    names: set[str] = set()
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as e:
            raise LSNetError(f"--{option}-nodes {pattern!r} is not a regular expression ({e})") from None
        matched = {n.name for n in graph.nodes if regex.match(n.name)}
        if not matched:
            raise LSNetError(f"--{option}-nodes {pattern!r} matches no node name of the graph")
        names |= matched
    present = {n.op for n in graph.nodes}
    for op in op_types:
        if op not in present:
            raise LSNetError(f"--{option}-op-types {op}: the graph has no {op} node")
        names |= {n.name for n in graph.nodes if n.op == op}
    return names


def keep_out(graph: gs.Graph, description: ModelDescription, exclude_nodes: tuple[str, ...] = (),
             exclude_op_types: tuple[str, ...] = (), include_nodes: tuple[str, ...] = (),
             include_op_types: tuple[str, ...] = ()) -> dict[str, str]:
    """Node name → why it stays out of INT8 (module docstring), in graph order; what the user
    excludes is added, what they include is taken out."""
    reasons: dict[int, str] = {}
    for reason, nodes in {SAMPLING: sampling_nodes(graph), **fp32_parts(graph, description)}.items():
        reasons.update((id(n), reason) for n in nodes if id(n) not in reasons)
    added = _matching(graph, exclude_nodes, exclude_op_types, "exclude")
    taken = _matching(graph, include_nodes, include_op_types, "include")
    kept = {}
    for node in graph.nodes:
        if node.name in taken:
            continue
        if id(node) in reasons:
            kept[node.name] = reasons[id(node)]
        elif node.name in added:
            kept[node.name] = USER
    return kept


def summarise(kept: dict[str, str], ops: dict[str, str]) -> dict[str, dict[str, int]]:
    """Reason → {op type: count} of a `keep_out` result (`ops`: node name → op type)."""
    counts: dict[str, Counter] = {}
    for name, reason in kept.items():
        counts.setdefault(reason, Counter())[ops[name]] += 1
    return {reason: dict(c.most_common()) for reason, c in counts.items()}
