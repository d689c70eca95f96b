"""Running a patched graph on the CPU: plugin nodes by the plugins' CPU twins, the rest by ONNX Runtime.

`LSNetPyramidDCN` and `LSNetDecode` are `onnx.reference` ops that call `lsnet_twins` (the same
math headers as the CUDA kernels, trt_plugins/README.md), so `ReferenceEvaluator(model,
new_ops=PLUGIN_OPS)` can evaluate plugin nodes. The standard ops do not run there: the reference
`DeformConv` samples per element in Python (minutes per image) and divides by zero on 1-pixel
maps. `PatchedGraph` therefore splits the graph at the plugin nodes into stages — standard nodes
on ONNX Runtime, plugin nodes on the reference evaluator — and runs them in dependency order; a
patched LSNet has four (network, pyramid DCNs, rest of the head, decode).
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from lsnet.plugins import DECODE_PLUGIN, DEFAULT_MAX_CANDIDATES, PLUGIN_DOMAIN, load_twins
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES


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
        return tuple(result[name] for name in PADDED_OUTPUT_NAMES)


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


def _stage_runner(stage: onnx.ModelProto, threads: int) -> Callable:
    if any(_is_plugin(node) for node in stage.graph.node):
        return ReferenceEvaluator(stage, new_ops=PLUGIN_OPS).run
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # errors only, as the ONNX Runtime backend
    return ort.InferenceSession(stage.SerializeToString(), options, providers=["CPUExecutionProvider"]).run


class PatchedGraph:
    """A patched ONNX, run on the CPU stage by stage (module docstring).

    The stages are cut and their runners made on the first `run` (a stage's inputs are typed by
    the values that reach it) and reused after. `threads`: ONNX Runtime intra-op threads (0: its
    default). `decode_seconds`: the last run's time in the `LSNetDecode` stage.
    """

    def __init__(self, model: str | Path | onnx.ModelProto, threads: int = 0):
        self.model = model if isinstance(model, onnx.ModelProto) else onnx.load(model)
        self.threads = threads
        self.stages = _stages(self.model.graph)
        self.outputs = [o.name for o in self.model.graph.output]
        needed_later = [{name for later in self.stages[i + 1:] for node in later for name in node.input}
                        | set(self.outputs) for i in range(len(self.stages))]
        self.stage_outputs = [[name for node in nodes for name in node.output if name in needed]
                              for nodes, needed in zip(self.stages, needed_later)]
        self.runners: list[tuple[list[str], Callable]] = []  # (feed names, run) per stage
        self.decode_seconds = 0.0

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Graph outputs for `inputs` (by graph input name)."""
        values = dict(inputs)
        self.decode_seconds = 0.0
        for index, (nodes, outputs) in enumerate(zip(self.stages, self.stage_outputs)):
            if index == len(self.runners):
                stage = _stage_model(self.model, nodes, values, outputs)
                self.runners.append(([i.name for i in stage.graph.input], _stage_runner(stage, self.threads)))
            feeds, run = self.runners[index]
            start = time.perf_counter()
            values.update(zip(outputs, run(outputs, {name: values[name] for name in feeds})))
            if any(node.op_type == DECODE_PLUGIN for node in nodes):
                self.decode_seconds += time.perf_counter() - start
        return {name: values[name] for name in self.outputs}


def run_patched(model_path: str | Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of the patched ONNX at `model_path` for `inputs` (by graph input name), run on the CPU."""
    return PatchedGraph(model_path).run(inputs)
