"""Decoding + class-wise NMS as standard ONNX ops, appended to the exported network.

The subgraph reproduces `lsnet.model.decode.decode` (read its docstring for the semantics)
with ops that ONNX Runtime and TensorRT's parser both run natively: TopK, GatherElements,
NonMaxSuppression, ScatterND. All sizes come from Shape ops, so static and dynamic exports
share one graph (onnxslim folds the shapes of a static model).

Every node and internal tensor is named `lsnet_decode/…`, and its inputs are the per-level
head maps named by `level_tensor_names`; `lsnet export patch` swaps exactly this subgraph for
one `LSNetDecode` plugin node.

Boxes are expected with x1 ≤ x2 and y1 ≤ y2, as a trained model gives: NonMaxSuppression
normalises inverted corners, torchvision's NMS does not, so on inside-out boxes the two may keep
different sets.

Padded outputs: each kept (class, candidate) score is scattered into a zero [B, C, K_total]
matrix; one TopK over its flattened rows gives the `max_detections` best in score order, and
zero-score rows are padding (`num_dets` counts the rest).
"""
from __future__ import annotations

import numpy as np
import onnx_graphsurgeon as gs

from lsnet.description import DECODE_NODE_PREFIX
from lsnet.export.graph_builder import GraphBuilder


def level_tensor_names(level: int, with_box_vectors: bool) -> list[str]:
    names = [f"cls_logits_{level}", f"landmark_vectors_{level}"]
    return names + [f"box_vectors_{level}"] if with_box_vectors else names


class _Builder(GraphBuilder):
    """The graph builder with the decode's own helpers; every name starts with the decode prefix."""

    def __init__(self, graph: gs.Graph):
        super().__init__(graph, DECODE_NODE_PREFIX)

    def gather_rows(self, data, index, batch, k):
        """data [B, L, D], index [B, k] → [B, k, D] (GatherElements along axis 1)."""
        depth = self.dims(data, [2])
        idx = self.op("Expand", [self.unsqueeze(index, [2]),
                                 self.op("Concat", [batch, k, depth], {"axis": 0}, dtype=np.int64)], dtype=np.int64)
        return self.op("GatherElements", [data, idx], {"axis": 1})

    def decode_components(self, vectors):
        """[..., 4] (t, b, l, r) → (dx, dy), the larger slot with its sign (docs/lsnet-official.md §2.2)."""
        t, b, l, r = (self.op("Gather", [vectors, self.const(i)], {"axis": -1}) for i in range(4))
        dy = self.op("Where", [self.op("Greater", [b, t], dtype=bool), b, self.op("Neg", [t])])
        dx = self.op("Where", [self.op("Greater", [r, l], dtype=bool), r, self.op("Neg", [l])])
        return dx, dy


def _level_points(bld: _Builder, vectors_map, index, batch, k, stride: int, anchor_x, anchor_y):
    """Vectors at the kept locations → points [B, k, V, 2] in canvas pixels."""
    flat = bld.op("Transpose", [bld.reshape(vectors_map, [batch, [0], [-1]])], {"perm": [0, 2, 1]})  # [B, HW, 4V]
    gathered = bld.reshape(bld.gather_rows(flat, index, batch, k), [batch, k, [-1], [4]])  # [B, k, V, 4]
    dx, dy = bld.decode_components(gathered)
    s = bld.const(float(stride), np.float32)
    px = bld.op("Add", [bld.unsqueeze(anchor_x, [2]), bld.op("Mul", [dx, s])])
    py = bld.op("Add", [bld.unsqueeze(anchor_y, [2]), bld.op("Mul", [dy, s])])
    return bld.op("Concat", [bld.unsqueeze(px, [3]), bld.unsqueeze(py, [3])], {"axis": 3})


def _box(bld: _Builder, points, box_source: str):
    """[B, k, P, 2] → [B, k, 4]: extreme/side points (left x, top y, right x, bottom y) or min/max."""
    if box_source in ("extreme_points", "side_midpoints"):
        pick = [(1, 0), (0, 1), (3, 0), (2, 1)]  # (point, coordinate)
        coords = [bld.op("Gather", [bld.op("Gather", [points, bld.const(p)], {"axis": 2}), bld.const([c])],
                         {"axis": 2}) for p, c in pick]
        return bld.op("Concat", coords, {"axis": 2})
    lo = bld.op("ReduceMin", [points, bld.const([2])], {"keepdims": 0})
    hi = bld.op("ReduceMax", [points, bld.const([2])], {"keepdims": 0})
    return bld.op("Concat", [lo, hi], {"axis": 2})


def append_decode(graph: gs.Graph, strides: list[int], *, num_landmarks: int, box_source: str, pre_nms_top_k: int,
                  score_threshold: float, nms_iou_threshold: float, max_detections: int) -> None:
    """Add the decode subgraph after the level tensors of `graph` and make its outputs the graph's."""
    bld = _Builder(graph)
    tensors = graph.tensors()
    with_box = box_source == "side_midpoints"
    probs_all, boxes_all, marks_all = [], [], []
    for level, stride in enumerate(strides):
        cls, vec, *box = (tensors[n] for n in level_tensor_names(level, with_box))
        batch, classes = bld.dims(cls, [0]), bld.dims(cls, [1])
        height, width = bld.dims(cls, [2]), bld.dims(cls, [3])
        probs = bld.op("Transpose", [bld.reshape(bld.op("Sigmoid", [cls]), [batch, classes, [-1]])],
                       {"perm": [0, 2, 1]})  # [B, HW, C]
        best = bld.op("ReduceMax", [probs, bld.const([2])], {"keepdims": 0})
        k = bld.op("Min", [bld.prod(height, width), bld.const([pre_nms_top_k])], dtype=np.int64)
        _, index = bld.op("TopK", [best, k], {"axis": 1, "largest": 1, "sorted": 1}, outputs=2)
        anchor_x = bld.op("Mul", [bld.op("Cast", [bld.op("Mod", [index, width], dtype=np.int64)],
                                         {"to": np.float32}), bld.const(float(stride), np.float32)])
        anchor_y = bld.op("Mul", [bld.op("Cast", [bld.op("Div", [index, width], dtype=np.int64)],
                                         {"to": np.float32}), bld.const(float(stride), np.float32)])
        points = _level_points(bld, vec, index, batch, k, stride, anchor_x, anchor_y)
        marks = bld.op("Slice", [points, bld.const([0]), bld.const([num_landmarks]), bld.const([2])])
        if with_box:
            box_points = _level_points(bld, box[0], index, batch, k, stride, anchor_x, anchor_y)
            boxes = _box(bld, box_points, box_source)
        else:
            boxes = _box(bld, marks, box_source)
        probs_all.append(bld.gather_rows(probs, index, batch, k))
        boxes_all.append(boxes)
        marks_all.append(marks)
        if level == 0:  # canvas = first level × its stride (the input is padded to a multiple of 32)
            canvas_wh = bld.op("Cast", [bld.op("Concat", [width, height], {"axis": 0}, dtype=np.int64)],
                               {"to": np.float32})
            canvas_wh = bld.op("Mul", [canvas_wh, bld.const(float(stride), np.float32)])
            batch0 = batch
    probs = bld.op("Concat", probs_all, {"axis": 1})  # [B, K, C]
    zero = bld.const(0.0, np.float32)
    boxes = bld.op("Concat", boxes_all, {"axis": 1})
    limits4 = bld.op("Concat", [canvas_wh, canvas_wh], {"axis": 0})
    boxes = bld.op("Min", [bld.op("Max", [boxes, zero]), limits4])  # [B, K, 4]
    marks = bld.op("Min", [bld.op("Max", [bld.op("Concat", marks_all, {"axis": 1}), zero]), canvas_wh])

    scores = bld.op("Transpose", [probs], {"perm": [0, 2, 1]})  # [B, C, K]
    selected = bld.op("NonMaxSuppression", [boxes, scores, bld.const([max_detections]),
                                            bld.const([nms_iou_threshold], np.float32),
                                            bld.const([score_threshold], np.float32)], dtype=np.int64)
    kept = bld.op("ScatterND", [bld.op("Mul", [scores, zero]), selected, bld.op("GatherND", [scores, selected])])
    total = bld.dims(boxes, [1])
    flat = bld.reshape(kept, [batch0, [-1]])  # [B, C·K], class-major
    padding = bld.op("ConstantOfShape", [bld.op("Concat", [batch0, bld.const([max_detections])], {"axis": 0},
                                                dtype=np.int64)], {"value": bld.const([0.0], np.float32)})
    flat = bld.op("Concat", [flat, padding], {"axis": 1})  # ≥ max_detections columns
    top_scores, top_index = bld.op("TopK", [flat, bld.const([max_detections])],
                                   {"axis": 1, "largest": 1, "sorted": 1}, outputs=2)
    valid = bld.op("Greater", [top_scores, zero], dtype=bool)
    valid_f = bld.op("Cast", [valid], {"to": np.float32})
    candidate = bld.op("Mod", [top_index, total], dtype=np.int64)
    label = bld.op("Div", [top_index, total], dtype=np.int64)
    k_out = bld.const([max_detections])
    out_boxes = bld.op("Mul", [bld.gather_rows(boxes, candidate, batch0, k_out), bld.unsqueeze(valid_f, [2])])
    flat_marks = bld.reshape(marks, [batch0, total, [2 * num_landmarks]])
    out_marks = bld.reshape(bld.op("Mul", [bld.gather_rows(flat_marks, candidate, batch0, k_out),
                                           bld.unsqueeze(valid_f, [2])]), [batch0, k_out, [num_landmarks, 2]])
    label = bld.op("Where", [valid, label, bld.const(0)])

    outputs = {
        "num_dets": (bld.op("Cast", [bld.op("ReduceSum", [valid_f, bld.const([1])], {"keepdims": 1})],
                            {"to": np.int32}), np.int32, ["batch", 1]),
        "boxes": (out_boxes, np.float32, ["batch", max_detections, 4]),
        "scores": (bld.op("Mul", [top_scores, valid_f]), np.float32, ["batch", max_detections]),
        "labels": (bld.op("Cast", [label], {"to": np.int32}), np.int32, ["batch", max_detections]),
        "landmarks": (out_marks, np.float32, ["batch", max_detections, num_landmarks, 2]),
    }
    graph.outputs = []
    for name, (tensor, dtype, shape) in outputs.items():
        final = gs.Variable(name, dtype=dtype, shape=shape)
        graph.layer(op="Identity", name=f"{DECODE_NODE_PREFIX}output_{name}", inputs=[tensor], outputs=[final])
        graph.outputs.append(final)
