"""Writing ONNX subgraphs with onnx-graphsurgeon: every node and constant under one name prefix.

The exporter appends the decode (`decode_graph`, prefix `lsnet_decode/`) and, for a frames model,
the letterbox around the network (`frames_graph`, prefix `lsnet_frames/`); the prefix tells a
reader which part of the graph a node belongs to.
"""
from __future__ import annotations

import numpy as np
import onnx_graphsurgeon as gs


class GraphBuilder:
    """Thin helper: every node/tensor gets `prefix` and a unique name."""

    def __init__(self, graph: gs.Graph, prefix: str):
        self.graph = graph
        self.prefix = prefix
        self.count = 0

    def op(self, op: str, inputs: list, attrs: dict | None = None, dtype=None, outputs: int = 1):
        self.count += 1
        name = f"{self.prefix}{op}_{self.count}"
        outs = [gs.Variable(f"{name}:{i}", dtype=dtype) for i in range(outputs)]
        self.graph.layer(op=op, name=name, inputs=inputs, outputs=outs, attrs=attrs or {})
        return outs[0] if outputs == 1 else outs

    def const(self, value, dtype=np.int64) -> gs.Constant:
        self.count += 1
        return gs.Constant(f"{self.prefix}const_{self.count}", np.asarray(value, dtype=dtype))

    def dims(self, tensor, indices: list[int]) -> gs.Variable:
        """1-D int64 tensor of some of `tensor`'s dimensions."""
        return self.op("Gather", [self.op("Shape", [tensor], dtype=np.int64), self.const(indices)], {"axis": 0},
                       dtype=np.int64)

    def prod(self, *dims_1d) -> gs.Variable:
        out = dims_1d[0]
        for d in dims_1d[1:]:
            out = self.op("Mul", [out, d], dtype=np.int64)
        return out

    def reshape(self, tensor, shape_parts: list) -> gs.Variable:
        """Reshape to the concatenation of 1-D int64 pieces (constants or dims)."""
        parts = [p if isinstance(p, gs.Tensor) else self.const(p) for p in shape_parts]
        return self.op("Reshape", [tensor, self.op("Concat", parts, {"axis": 0}, dtype=np.int64)])

    def unsqueeze(self, tensor, axes: list[int]):
        return self.op("Unsqueeze", [tensor, self.const(axes)])
