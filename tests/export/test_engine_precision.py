"""`lsnet.export.engine_precision`: what stays FP32 in a reduced-precision engine, and the FP16 ONNX
a strongly typed (TensorRT 11) build parses — checked by ONNX's type inference and run on ONNX
Runtime's CPU FP16 kernels against the FP32 graph."""
import numpy as np
import onnx
import onnx_graphsurgeon as gs
import onnxruntime as ort
import pytest
from export_helpers import random_images

from lsnet.export.engine_precision import fp32_nodes, fp32_tensor_names, model_description, to_float16
from lsnet.export.plugin_nodes import DECODE_OP, PYRAMID_DCN_OP

LEVELS = 5
HEAD_MAPS = [f"{name}_{level}" for level in range(LEVELS) for name in ("cls_logits", "landmark_vectors")]


def graph_of(path):
    model = onnx.load(path)
    return gs.import_onnx(onnx.shape_inference.infer_shapes(model)), model_description(model)


def kept_ops(nodes) -> list[str]:
    return [n.op for n in nodes]


def test_patched_graph_keeps_decode_head_outputs_offsets_and_norms_in_fp32(models):
    graph, description = graph_of(models["bbox"].patched)
    kept = fp32_nodes(graph, description)
    ops = kept_ops(kept)
    # per level: the classification, refined-vector and stage-1 (offset) convolutions — not the towers
    assert ops.count(DECODE_OP) == 1 and ops.count("Conv") == 3 * LEVELS
    assert PYRAMID_DCN_OP not in ops and "DeformConv" not in ops
    assert ops.count("InstanceNormalization") == kept_ops(graph.nodes).count("InstanceNormalization")
    kept_ids = {id(n) for n in kept}
    decode = next(n for n in graph.nodes if n.op == DECODE_OP)
    assert all(id(t.inputs[0]) in kept_ids for t in decode.inputs)
    assert all(id(n.inputs[1].inputs[0]) in kept_ids for n in graph.nodes if n.op == PYRAMID_DCN_OP)


def test_portable_graph_keeps_the_decode_subgraph_and_the_grid_arithmetic_in_fp32(models):
    graph, description = graph_of(models["bbox"].portable)
    ops = kept_ops(fp32_nodes(graph, description))
    assert ops.count("NonMaxSuppression") == 1 and "TopK" in ops
    assert ops.count("Conv") == 3 * LEVELS and "GridSample" not in ops
    kept_ids = {id(n) for n in fp32_nodes(graph, description)}
    assert all(id(n.inputs[1].inputs[0]) in kept_ids for n in graph.nodes if n.op == "GridSample")


def test_fp32_tensor_names_name_the_head_maps_and_the_outputs(models):
    names = set(fp32_tensor_names(onnx.load(models["bbox"].patched)))
    assert set(HEAD_MAPS) <= names and {"num_dets", "boxes", "scores", "labels", "landmarks"} <= names


def with_head_maps(model: onnx.ModelProto) -> bytes:
    """The model with the head maps as extra outputs, serialised for ONNX Runtime."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in HEAD_MAPS)
    return model.SerializeToString()


def test_float16_portable_graph_runs_with_head_maps_close_to_fp32(models):
    model = onnx.load(models["bbox"].portable)
    half, kept = to_float16(model)
    onnx.checker.check_model(half, full_check=True)
    onnx.shape_inference.infer_shapes(half, check_type=True, strict_mode=True)
    assert [(t.name, t.type.tensor_type.elem_type) for t in half.graph.output] == \
        [(t.name, t.type.tensor_type.elem_type) for t in model.graph.output]
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    weights = {t.name: t.data_type for t in half.graph.initializer}
    half_convs = [weights[n.input[1]] for n in half.graph.node if n.op_type in ("Conv", "DeformConv")
                  and n.name not in kept]
    assert half_convs and set(half_convs) == {onnx.TensorProto.FLOAT16}

    images = random_images(2, (128, 160), seed=3)
    results = []
    for graph in (model, half):
        session = ort.InferenceSession(with_head_maps(graph), providers=["CPUExecutionProvider"])
        results.append(dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": images}))))
    for name in HEAD_MAPS:  # FP16 backbone and towers, FP32 head outputs: FP16 rounding only
        assert results[1][name].dtype == np.float32
        np.testing.assert_allclose(results[1][name], results[0][name], atol=2e-3, rtol=0, err_msg=name)


def test_float16_patched_graph_feeds_the_pyramid_dcn_fp16_and_the_decode_fp32(models):
    half, _ = to_float16(onnx.load(models["bbox"].patched))
    inferred = onnx.shape_inference.infer_shapes(half, check_type=True, strict_mode=True)
    types = {v.name: v.type.tensor_type.elem_type for v in [*inferred.graph.value_info, *inferred.graph.input]}
    types.update((t.name, t.data_type) for t in inferred.graph.initializer)
    pyramid = [n for n in inferred.graph.node if n.op_type == PYRAMID_DCN_OP]
    decode = next(n for n in inferred.graph.node if n.op_type == DECODE_OP)
    assert pyramid and all(types[name] == onnx.TensorProto.FLOAT16 for n in pyramid for name in n.input)
    assert all(types[name] == onnx.TensorProto.FLOAT for name in decode.input)


@pytest.mark.parametrize("key", ["lsnet_description", "lsnet_patched"])
def test_float16_graph_keeps_the_metadata(models, key):
    half, _ = to_float16(onnx.load(models["bbox"].patched))
    assert key in {p.key for p in half.metadata_props}


def test_float16_frames_graph_keeps_the_letterbox_fp32_and_runs_close_to_fp32(models):
    from lsnet.export.frames_graph import FRAMES_NODE_PREFIX

    model = onnx.load(models.frames("bbox").portable)
    half, kept = to_float16(model)
    onnx.checker.check_model(half, full_check=True)
    onnx.shape_inference.infer_shapes(half, check_type=True, strict_mode=True)
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    letterbox = {n.name for n in model.graph.node if n.name.startswith(FRAMES_NODE_PREFIX)}
    assert letterbox and letterbox <= set(kept)  # resize, normalisation and the mapping to frame pixels

    frames = np.random.default_rng(5).integers(0, 256, (2, 96, 120, 3), dtype=np.uint8)
    results = []
    for graph in (model, half):
        session = ort.InferenceSession(with_head_maps(graph), providers=["CPUExecutionProvider"])
        results.append(dict(zip([o.name for o in session.get_outputs()], session.run(None, {"frames": frames}))))
    for name in HEAD_MAPS:
        np.testing.assert_allclose(results[1][name], results[0][name], atol=2e-3, rtol=0, err_msg=name)


def test_patched_frames_graph_keeps_the_letterbox_and_the_mapping_to_frame_pixels_fp32(models):
    from lsnet.export.frames_graph import FRAMES_NODE_PREFIX

    graph, description = graph_of(models.frames("bbox").patched)
    kept = fp32_nodes(graph, description)
    letterbox = [n for n in graph.nodes if n.name.startswith(FRAMES_NODE_PREFIX)]
    assert letterbox and {id(n) for n in letterbox} <= {id(n) for n in kept}
    assert kept_ops(kept).count(DECODE_OP) == 1
