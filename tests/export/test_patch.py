"""`lsnet.export.patch`: the patched graph holds the plugin nodes the plugins read, and detects what
the portable graph (ONNX Runtime) and PyTorch detect, run on the CPU with the plugins' twins."""
import json

import numpy as np
import onnx
import pytest
from export_helpers import (assert_same_detections, attributes, plugin_nodes, random_images, run_portable,
                            run_pytorch)
from model_recipes import TASK_MODELS

from lsnet.description import ONNX_METADATA_KEY, PATCHED_METADATA_KEY, ModelDescription
from lsnet.export.plugin_nodes import DECODE_OP, PLUGIN_DOMAIN, PYRAMID_DCN_OP
from lsnet.runtime.backends.twins_ops import run_patched
from lsnet.model.pyramid_dcn import level_scale, pyramid_levels

CALLS = {"bbox": 30, "segm_cumulative": 30, "pose_obj": 45, "pose_kps": 30}  # 15 per branch: cls + landmark branches
BRANCH_WEIGHTS = {"bbox": ["pts_cls_conv", "pts_bbox_refine_conv"],
                  "segm_cumulative": ["pts_cls_conv", "pts_segm_refine_conv"],
                  "pose_obj": ["pts_cls_conv", "pts_bbox_refine_conv", "pts_pose_refine_conv"],
                  "pose_kps": ["pts_cls_conv", "pts_pose_refine_conv"]}


@pytest.mark.parametrize("name", TASK_MODELS)
def test_patched_graph_detects_what_portable_graph_and_pytorch_detect(models, twins, name):
    model = models[name]
    images = random_images(2, (128, 160), seed=1)
    patched = run_patched(model.patched, {"images": images})
    assert_same_detections(patched, run_portable(model.portable, images))
    assert_same_detections(patched, run_pytorch(model.checkpoint, images))
    assert patched["num_dets"].min() > 0


@pytest.mark.parametrize("name", TASK_MODELS)
def test_patch_replaces_15_pyramid_dcn_calls_per_branch_and_the_decode(models, name):
    model = models[name]
    ops = [node.op_type for node in onnx.load(model.patched).graph.node]
    portable_ops = [node.op_type for node in onnx.load(model.portable).graph.node]
    assert model.report.pyramid_dcn_calls == CALLS[name] == ops.count(PYRAMID_DCN_OP)
    assert ops.count(DECODE_OP) == 1
    assert "GridSample" not in ops and "NonMaxSuppression" not in ops and "TopK" not in ops
    assert ops.count("DeformConv") == portable_ops.count("DeformConv") > 0  # the towers' DCNv2 stays standard


@pytest.mark.parametrize("name", TASK_MODELS)
def test_pyramid_dcn_weights_are_the_modules_3x3_weights(models, name):
    import torch

    state = torch.load(models[name].checkpoint, weights_only=True)["model"]
    patched = onnx.load(models[name].patched)
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in patched.graph.initializer}
    calls_per_module = {}
    for node in plugin_nodes(models[name].patched, PYRAMID_DCN_OP):
        weight = constants[node.input[2]]
        module = [m for m in BRANCH_WEIGHTS[name] if np.array_equal(weight, state[f"head.{m}.weight"].numpy())]
        assert len(module) == 1, f"{node.name}: weight {weight.shape} is no pyramid-DCN module's weight"
        calls_per_module[module[0]] = calls_per_module.get(module[0], 0) + 1
        assert len(node.input) == 3  # the official pyramid DCN has no bias
    assert calls_per_module == {m: 15 for m in BRANCH_WEIGHTS[name]}
    shared = {node.input[2] for node in plugin_nodes(models[name].patched, PYRAMID_DCN_OP)}
    assert len(shared) == len(BRANCH_WEIGHTS[name])  # one initializer per module, not one per call


@pytest.mark.parametrize("name", TASK_MODELS)
def test_plugin_attributes_come_from_the_model_description(models, name):
    model = models[name]
    description = ModelDescription.from_json(
        {p.key: p.value for p in onnx.load(model.portable).metadata_props}[ONNX_METADATA_KEY])
    (decode,) = plugin_nodes(model.patched, DECODE_OP)
    attrs = attributes(decode)
    assert attrs == {
        "num_landmarks": description.num_landmarks, "strides": [8, 16, 32, 64, 128],
        "box_source": {"bbox": 0, "segm_cumulative": 1, "pose_obj": 2, "pose_kps": 1}[name],
        "pre_nms_top_k": description.pre_nms_top_k, "score_threshold": pytest.approx(description.score_threshold),
        "iou_threshold": pytest.approx(description.nms_iou_threshold), "max_detections": description.max_detections,
        "max_candidates": 4096, "plugin_namespace": "lsnet", "plugin_version": "1"}
    per_level = 3 if name == "pose_obj" else 2  # cls, landmark vectors (, box vectors), interleaved
    assert list(decode.input)[:per_level] == ["cls_logits_0", "landmark_vectors_0", "box_vectors_0"][:per_level]
    assert len(decode.input) == 5 * per_level
    assert list(decode.output) == ["num_dets", "boxes", "scores", "labels", "landmarks"]
    for node in plugin_nodes(model.patched, PYRAMID_DCN_OP):
        assert node.domain == PLUGIN_DOMAIN
        assert attributes(node) == {"plugin_namespace": "lsnet", "plugin_version": "1"}


def test_patched_model_keeps_metadata_and_is_marked(models):
    model = models["bbox"]
    portable = {p.key: p.value for p in onnx.load(model.portable).metadata_props}
    patched_model = onnx.load(model.patched)
    patched = {p.key: p.value for p in patched_model.metadata_props}
    assert {k: patched[k] for k in portable} == portable
    assert json.loads(patched[PATCHED_METADATA_KEY])["pyramid_dcn_calls"] == 30
    assert {(o.domain, o.version) for o in patched_model.opset_import} >= {("", 19), (PLUGIN_DOMAIN, 1)}
    onnx.checker.check_model(patched_model, full_check=True)


def test_cumulative_offset_scaling_stays_outside_the_plugin(models):
    """The official in-place scaling feeds each level's third call o·σ_prev: a Mul before the plugin."""
    graph = onnx.load(models["segm_cumulative"].patched).graph
    producers = {out: node for node in graph.node for out in node.output}
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    scales = []
    for node in (n for n in graph.node if n.op_type == PYRAMID_DCN_OP):
        offset_producer = producers[node.input[1]]
        if offset_producer.op_type == "Mul":
            (scale,) = [constants[i] for i in offset_producer.input if i in constants]
            scales.append(tuple(scale.reshape(9, 2)[0]))
            assert np.array_equal(scale.reshape(9, 2), np.tile(scale.reshape(9, 2)[:1], (9, 1)))
    sizes = [(-(-128 // s), -(-160 // s)) for s in (8, 16, 32, 64, 128)]  # ceil: stride-2 convs round up
    expected = [level_scale(sizes[pyramid_levels(base, 5)[1]], sizes[base]) for base in range(5)]
    # the third call of each level, in the cls and in the segm branch
    np.testing.assert_allclose(sorted(scales), sorted(expected * 2), rtol=1e-6)


def test_dynamic_export_patches_and_runs_at_other_sizes_and_batches(models, twins):
    model = models["bbox_dynamic"]
    assert model.report.pyramid_dcn_calls == 30
    for batch, hw in ((1, (128, 160)), (2, (96, 224))):
        images = random_images(batch, hw, seed=batch)
        patched = run_patched(model.patched, {"images": images})
        assert_same_detections(patched, run_portable(model.portable, images))
        assert_same_detections(patched, run_pytorch(model.checkpoint, images))


def test_unsimplified_export_patches_the_same_calls(models, twins):
    """Without onnxslim the weights are Reshapes of the 3×3 parameters and nothing is folded or merged."""
    model = models["bbox_unsimplified"]
    assert model.report.pyramid_dcn_calls == 30
    images = random_images(1, (128, 160), seed=4)
    assert_same_detections(run_patched(model.patched, {"images": images}), run_portable(model.portable, images))


def tensor_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    types.update((t.name, t.data_type) for t in inferred.graph.initializer)
    return types


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_explicit_precision_graphs_patch_with_both_plugins_fed_one_float_type(request, tmp_path, precision):
    """An INT8 (Q/DQ) or FP16 graph keeps its precision through the patch, and each plugin gets the
    FP32 or FP16 inputs of one type its supportsFormatCombination accepts (trt_plugins/*/README.md)."""
    from lsnet.export.explicit_precision import graph_precision
    from lsnet.export.patch import patch_onnx

    source = request.getfixturevalue(f"{precision}_onnx")
    report = patch_onnx(source, tmp_path / "model.trt.onnx")
    patched, original = onnx.load(report.out), onnx.load(source)
    onnx.checker.check_model(patched, full_check=True)
    assert report.pyramid_dcn_calls == 30 and graph_precision(patched) == precision
    qdq = [sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in m.graph.node) for m in (patched, original)]
    assert qdq[0] == qdq[1]  # no Q/DQ pair lay in a replaced subgraph
    types, producers = tensor_types(patched), {o: n.op_type for n in patched.graph.node for o in n.output}
    expected = {PYRAMID_DCN_OP: onnx.TensorProto.FLOAT16, DECODE_OP: onnx.TensorProto.FLOAT}
    plugins = [n for n in patched.graph.node if n.domain == PLUGIN_DOMAIN]
    assert {n.op_type for n in plugins} == set(expected)
    for node in plugins:
        assert {types[name] for name in node.input} == {expected[node.op_type]}, node.name
        assert not any(producers.get(name) == "QuantizeLinear" for name in node.input)
    if precision == "int8":  # the features of the pyramid DCN arrive dequantized
        assert any(producers.get(n.input[0]) == "DequantizeLinear" for n in plugins if n.op_type == PYRAMID_DCN_OP)
    metadata = {p.key for p in patched.metadata_props}
    assert {ONNX_METADATA_KEY, PATCHED_METADATA_KEY, "lsnet_export"} <= metadata


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_patched_explicit_graphs_on_the_twins_detect_what_onnx_runtime_detects(request, twins, tmp_path, precision):
    """The same detections up to FP16 rounding, which happens in other places: the portable graph rounds
    the sampling grid and the samples to FP16, the plugin the offsets, and it samples in FP32. This
    untrained model's vectors sit at the t/b and l/r decision boundaries, so a few of its boxes flip."""
    from lsnet.export.patch import patch_onnx
    from lsnet.runtime.compare import compare_detections
    from lsnet.runtime.detections import detections_from_padded
    from lsnet.runtime.preprocess import Letterbox

    source = request.getfixturevalue(f"{precision}_onnx")
    patched = patch_onnx(source, tmp_path / "model.trt.onnx").out
    images = random_images(2, (128, 160), seed=1)
    canvas = [Letterbox(1.0, (128, 160), (128, 160), (128, 160))] * 2
    patched_dets, portable_dets = (detections_from_padded(outputs, canvas, ["a", "b", "c"]) for outputs in
                                   (run_patched(patched, {"images": images}), run_portable(source, images)))
    summary = compare_detections(portable_dets, patched_dets, score=0.05)
    assert summary["matched"] >= 0.95 * summary["reference_detections"] > 0, summary
    assert summary["box_iou_mean"] >= 0.99, summary


def test_an_int8_tensor_reaching_a_plugin_is_refused():
    import onnx_graphsurgeon as gs

    from lsnet.errors import LSNetError
    from lsnet.export.patch import _match_plugin_input_types
    from lsnet.export.plugin_nodes import plugin_node

    quantized = gs.Variable("q", dtype=np.int8, shape=[1, 4, 8, 8])
    graph = gs.Graph(nodes=[plugin_node(PYRAMID_DCN_OP, "dcn", [quantized], [gs.Variable("y", dtype=np.float16)])],
                     inputs=[quantized])
    with pytest.raises(LSNetError, match="is int8: the plugins take FP32 or FP16, so an INT8 graph must dequantize"):
        _match_plugin_input_types(graph)
