"""Running a patched graph on the CPU: plugin nodes by the plugins' CPU twins, the rest by ONNX Runtime.

`LSNetPyramidDCN` and `LSNetDecode` are `onnx.reference` ops that call `lsnet_twins` (the same
math headers as the CUDA kernels, trt_plugins/README.md), so `ReferenceEvaluator(model,
new_ops=PLUGIN_OPS)` can evaluate plugin nodes. The standard ops do not run there: the reference
`DeformConv` samples per element in Python (minutes per image) and divides by zero on 1-pixel
maps. `run_patched` therefore splits the graph at the plugin nodes into stages — standard nodes on
ONNX Runtime, plugin nodes on the reference evaluator — and runs them in dependency order; a
patched LSNet has four (network, pyramid DCNs, rest of the head, decode).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from lsnet.export.patch_decode import DEFAULT_MAX_CANDIDATES, OUTPUT_NAMES
from lsnet.export.plugin_nodes import PLUGIN_DOMAIN
from lsnet.plugins import load_twins


# Node attributes arrive as keyword arguments, the TensorRT lookup ones (plugin_namespace,
# plugin_version) included; the twins take the rest.
class LSNetPyramidDCN(OpRun):
    op_domain = PLUGIN_DOMAIN

    def _run(self, features, offset, weight, bias=None, plugin_namespace=None, plugin_version=None):
        # FP16 inputs (an FP16 or INT8 graph) are computed in FP32 and stored back in FP16, as the kernel does
        as32 = [None if t is None else np.asarray(t, np.float32) for t in (features, offset, weight, bias)]
        return (load_twins().pyramid_dcn(*as32).astype(features.dtype),)


class LSNetDecode(OpRun):
    op_domain = PLUGIN_DOMAIN

    def _run(self, *levels, num_landmarks, strides, box_source, pre_nms_top_k=1000, score_threshold=0.05,
             iou_threshold=0.6, max_detections=100, max_candidates=DEFAULT_MAX_CANDIDATES, plugin_namespace=None,
             plugin_version=None):
        levels = [np.asarray(level, np.float32) for level in levels]  # FP16 maps: the decode computes in FP32
        result = load_twins().decode(levels, num_landmarks, list(strides), box_source, pre_nms_top_k,
                                     score_threshold, iou_threshold, max_detections, max_candidates)
        return tuple(result[name] for name in OUTPUT_NAMES)


PLUGIN_OPS = [LSNetPyramidDCN, LSNetDecode]


def _is_plugin(node: onnx.NodeProto) -> bool:
    return node.domain == PLUGIN_DOMAIN


def _stages(graph: onnx.GraphProto) -> list[list[onnx.NodeProto]]:
    """Nodes grouped into stages: even stages standard ops, odd stages plugin ops, each stage reading
    only graph inputs, initializers and earlier stages (or itself). Expects a toposorted graph."""
    stage_of: dict[str, int] = {}
    stages: dict[int, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        kind = int(_is_plugin(node))
        stage = max([kind] + [stage_of.get(name, 0) for name in node.input])
        stage += (stage - kind) % 2  # the first stage of the node's kind not before its inputs
        stages[stage].append(node)
        stage_of.update((name, stage) for name in node.output)
    return [stages[s] for s in sorted(stages)]


def _stage_model(model: onnx.ModelProto, nodes: list[onnx.NodeProto], inputs: dict[str, np.ndarray],
                 outputs: list[str]) -> onnx.ModelProto:
    initializers = {t.name: t for t in model.graph.initializer}
    read = {name for node in nodes for name in node.input if name}
    produced = {name for node in nodes for name in node.output}
    feeds = sorted(read - produced - initializers.keys())
    graph = onnx.helper.make_graph(
        nodes, "stage",
        [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(inputs[n].dtype), None)
         for n in feeds],
        [onnx.ValueInfoProto(name=n) for n in outputs],
        [initializers[n] for n in sorted(read & initializers.keys())])
    domains = {node.domain for node in nodes} | {""}
    opsets = [o for o in model.opset_import if o.domain in domains]
    return onnx.helper.make_model(graph, opset_imports=opsets, ir_version=model.ir_version)


def _stage_runner(stage: onnx.ModelProto) -> Callable:
    if any(_is_plugin(node) for node in stage.graph.node):
        return ReferenceEvaluator(stage, new_ops=PLUGIN_OPS).run
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only, as the ONNX Runtime backend
    return ort.InferenceSession(stage.SerializeToString(), options, providers=["CPUExecutionProvider"]).run


def run_patched(model_path: str | Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of the patched ONNX at `model_path` for `inputs` (by graph input name), run on the CPU."""
    model = onnx.load(model_path)
    stages = _stages(model.graph)
    needed_later = [{name for later in stages[i + 1:] for node in later for name in node.input}
                    | {o.name for o in model.graph.output} for i in range(len(stages))]
    values = dict(inputs)
    for nodes, needed in zip(stages, needed_later):
        outputs = [name for node in nodes for name in node.output if name in needed]
        stage = _stage_model(model, nodes, values, outputs)
        feeds = {i.name: values[i.name] for i in stage.graph.input}
        values.update(zip(outputs, _stage_runner(stage)(outputs, feeds)))
    return {o.name: values[o.name] for o in model.graph.output}
