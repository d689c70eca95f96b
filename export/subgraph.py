"""Walking an onnx-graphsurgeon graph backwards: which nodes compute some tensors from a boundary.

A subgraph can be swapped for a plugin node only if it is *closed*: its outputs are computed
from the tensors that become the plugin's inputs and from constants, nothing else. Shape and
Size nodes read only their input's shape, which a plugin gets at run time anyway, so the walk
does not follow them (dynamic exports compute sizes from `Shape(images)` or any other tensor).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import onnx_graphsurgeon as gs

SHAPE_READERS = frozenset({"Shape", "Size"})


def producer(tensor: gs.Tensor) -> gs.Node | None:
    return tensor.inputs[0] if tensor.inputs else None


def data_inputs(node: gs.Node) -> list[gs.Tensor]:
    """The inputs whose values the node reads (none for a shape reader; omitted optionals dropped)."""
    return [] if node.op in SHAPE_READERS else [t for t in node.inputs if t.name]


def nodes_between(outputs: list[gs.Tensor], boundary: set[str]) -> list[gs.Node] | None:
    """The nodes that compute `outputs` from the tensors named in `boundary` and constants.

    None if any other tensor reaches in (a graph input, or a path around the boundary).
    """
    found: dict[int, gs.Node] = {}
    seen: set[str] = set()
    pending = list(outputs)
    while pending:
        tensor = pending.pop()
        if tensor.name in boundary or tensor.name in seen or isinstance(tensor, gs.Constant):
            continue
        seen.add(tensor.name)
        node = producer(tensor)
        if node is None:
            return None
        if id(node) not in found:
            found[id(node)] = node
            pending.extend(data_inputs(node))
    return list(found.values())


def ancestors_nearest_first(tensor: gs.Tensor) -> Iterator[gs.Variable]:
    """The variables `tensor` is computed from, breadth-first (nearest first), without `tensor` itself."""
    seen = {tensor.name}
    queue = deque([tensor])
    while queue:
        node = producer(queue.popleft())
        if node is None:
            continue
        for t in data_inputs(node):
            if t.name not in seen and isinstance(t, gs.Variable):
                seen.add(t.name)
                yield t
                queue.append(t)
