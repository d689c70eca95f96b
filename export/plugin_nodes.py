"""How a call of one of our TensorRT plugins is written in ONNX (trt_plugins/README.md, "ONNX nodes").

TensorRT's ONNX parser imports a node it has no importer for through its fallback plugin
importer: the creator is looked up by the node's `op_type` as plugin name, with the string
attributes `plugin_version` (default "1") and `plugin_namespace` (default ""); every other
attribute the creator lists becomes a plugin field (INT → INT32, FLOAT → FLOAT32, INTS → INT32s).
The node's domain plays no part in that lookup (onnx/onnx-tensorrt `onnxOpImporters.cpp`,
`FallbackPluginImporter`), so it is ours to choose: `lsnet`, like the namespace (`lsnet.plugins.PLUGIN_DOMAIN`).
"""
from __future__ import annotations

import onnx_graphsurgeon as gs

from lsnet.plugins import DECODE_PLUGIN as DECODE_OP
from lsnet.plugins import PLUGIN_DOMAIN, PLUGIN_NAMESPACE, PLUGIN_VERSION
from lsnet.plugins import PYRAMID_DCN_PLUGIN as PYRAMID_DCN_OP


def plugin_node(op: str, name: str, inputs: list[gs.Tensor], outputs: list[gs.Tensor],
                attrs: dict | None = None) -> gs.Node:
    """A node TensorRT's parser maps to plugin `op` of the lsnet library (docs/architecture.md §4)."""
    attrs = {**(attrs or {}), "plugin_namespace": PLUGIN_NAMESPACE, "plugin_version": PLUGIN_VERSION}
    return gs.Node(op=op, name=name, domain=PLUGIN_DOMAIN, attrs=attrs, inputs=inputs, outputs=outputs)
