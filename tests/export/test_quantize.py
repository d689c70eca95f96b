"""`lsnet export quantize` (`lsnet.export.quantize`): INT8 Q/DQ graphs by NVIDIA ModelOpt calibrated on
the CPU, FP16 graphs, the nodes kept out of INT8, the metadata kept, and the one-line refusals; the
committed bbox model's INT8 AP against its FP32 AP (the README's precision table, on a small split)."""
import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnx_graphsurgeon as gs
import pytest

from lsnet.cli import main
from lsnet.description import DECODE_NODE_PREFIX, EXPORT_INFO_KEY, ONNX_METADATA_KEY
from lsnet.export.engine_precision import fp32_nodes, model_description
from lsnet.export.explicit_precision import float32_nodes, graph_precision, precision_record
from lsnet.export.quantize_nodes import SAMPLING, USER, keep_out

pytest.importorskip("modelopt.onnx.quantization", reason="needs NVIDIA ModelOpt: pip install 'lsnet-trt[quantize]'")

MODELS = Path(__file__).resolve().parents[2] / "models"
COMMITTED = MODELS / "lsnet_bbox_r10_synth.pt"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {o: n for n in model.graph.node for o in n.output}


def weight_source(model: onnx.ModelProto, node: onnx.NodeProto) -> str:
    """The op that delivers a node's weight (input 1): "DequantizeLinear" when quantized."""
    made = producers(model).get(node.input[1])
    return made.op_type if made is not None else "initializer"


def test_int8_quantizes_backbone_fpn_and_towers_and_keeps_out_sampling_decode_and_head_outputs(int8_onnx, models):
    model = onnx.load(int8_onnx)
    record = precision_record(model)
    kept = {name for names in record["kept_out_nodes"].values() for name in names}
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "DeformConv")]
    quantized = {n.name for n in convs if weight_source(model, n) == "DequantizeLinear"}
    assert graph_precision(model) == "int8" and quantized
    assert not quantized & kept
    # every convolution that is not kept out is quantized, except those ModelOpt itself leaves out
    assert len(quantized) >= len([n for n in convs if n.name not in kept]) - 2
    portable = gs.import_onnx(onnx.shape_inference.infer_shapes(onnx.load(models["bbox"].portable)))
    head_outputs = [n.name for n in fp32_nodes(portable, model_description(onnx.load(models["bbox"].portable)))
                    if n.op == "Conv"]
    assert head_outputs and set(head_outputs) <= kept  # the score and vector convolutions
    assert {n.name for n in convs if n.op_type == "DeformConv"} <= set(record["kept_out_nodes"][SAMPLING])
    dequantized = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    decode = [n for n in model.graph.node if n.name.startswith(DECODE_NODE_PREFIX)]
    assert decode and not any(dequantized & set(n.input) for n in decode)


def test_int8_keeps_the_description_and_records_how_it_was_made(int8_onnx, models, calib_data):
    source, model = onnx.load(models["bbox"].portable), onnx.load(int8_onnx)
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata[ONNX_METADATA_KEY] == {p.key: p.value for p in source.metadata_props}[ONNX_METADATA_KEY]
    export = json.loads(metadata[EXPORT_INFO_KEY])
    source_export = json.loads({p.key: p.value for p in source.metadata_props}[EXPORT_INFO_KEY])
    assert {k: v for k, v in export.items() if k != "precision"} == source_export
    record = export["precision"]
    assert (record["mode"], record["high_precision"]) == ("int8", "fp16")
    assert record["tool"].startswith("nvidia-modelopt")
    assert record["calibration"] == {"folder": str((calib_data / "train").resolve()), "images": 4, "method": "max",
                                     "canvas": [128, 160]}
    assert record["qdq_pairs"] == sum(n.op_type == "QuantizeLinear" for n in model.graph.node)
    onnx.checker.check_model(model, full_check=True)


def fp32_part_names(path: Path) -> set[str]:
    """The nodes of the FP32 parts that compute floats (not Casts, not integer index arithmetic)."""
    source = onnx.load(path)
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(source))
    return {n.name for n in fp32_nodes(graph, model_description(source))} & set(float32_nodes(source))


def test_int8_computes_fp16_except_the_fp32_parts(int8_onnx, models):
    model = onnx.load(int8_onnx)
    assert set(float32_nodes(model)) == fp32_part_names(models["bbox"].portable)
    assert [t.type.tensor_type.elem_type for t in [*model.graph.input, *model.graph.output]] == \
        [t.type.tensor_type.elem_type for t in [*onnx.load(models["bbox"].portable).graph.input,
                                                *onnx.load(models["bbox"].portable).graph.output]]


def test_fp16_is_standard_onnx_typed_as_intended(fp16_onnx, models):
    model, source = onnx.load(fp16_onnx), onnx.load(models["bbox"].portable)
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    assert {n.domain for n in model.graph.node} == {""} and graph_precision(model) == "fp16"
    assert set(float32_nodes(model)) == fp32_part_names(models["bbox"].portable)
    assert {p.key: p.value for p in model.metadata_props}[ONNX_METADATA_KEY] == \
        {p.key: p.value for p in source.metadata_props}[ONNX_METADATA_KEY]
    assert precision_record(model)["mode"] == "fp16"


def test_int8_and_fp16_run_on_onnx_runtime_and_compare_reports_their_differences(int8_onnx, fp16_onnx, models,
                                                                                 tmp_path, capsys):
    report_file = tmp_path / "compare.json"
    code, out, _ = run(capsys, "compare", models["bbox"].portable, int8_onnx, fp16_onnx, "--count", "2",
                       "--score", "0.05", "--json", report_file)  # an untrained model: scores near 0.27
    assert code == 0 and "int8" in out and "fp16" in out
    report = json.loads(report_file.read_text())
    for name in (str(int8_onnx), str(fp16_onnx)):
        summary = report["models"][name]
        assert summary["precision"] in ("int8", "fp16") and summary["detections"] > 0
        assert summary["box_abs_max"] is not None and summary["score_abs_max"] is not None


def test_the_committed_bbox_model_loses_at_most_001_ap_in_int8(models, tmp_path):
    """The README's INT8 row, small: 16 train images calibrate, the first 50 val images score."""
    from lsnet.data.synth import write_dataset
    from lsnet.evaluation.predict import evaluate_detector, primary_metric
    from lsnet.export.quantize import QuantizeOptions, quantize_onnx
    from lsnet.runtime import load

    if not COMMITTED.is_file():
        pytest.skip(f"{COMMITTED.name} is not in models/")
    data = tmp_path / "shapes"
    write_dataset(data, "bbox", seed=0, counts={"train": 16, "val": 50})  # the models' seed: val is theirs
    portable = models.of_checkpoint(COMMITTED).portable
    int8 = quantize_onnx(portable, tmp_path / "bbox.int8.onnx", QuantizeOptions(calib=data, calib_images=16),
                         log=lambda _: None).out
    ann, images = data / "annotations" / "val.json", data / "val"
    ap = {path: primary_metric("bbox", evaluate_detector(load(path), ann, images, progress=False))
          for path in (portable, int8)}
    assert ap[int8] >= ap[portable] - 0.01, ap


def test_user_patterns_add_to_and_take_from_the_kept_out_nodes(models):
    source = onnx.load(models["bbox"].portable)
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(source))
    description = model_description(source)
    default = keep_out(graph, description)
    head_conv = next(n.name for n in fp32_nodes(graph, description) if n.op == "Conv")
    adds = {n.name for n in graph.nodes if n.op == "Add"} - set(default)
    changed = keep_out(graph, description, exclude_op_types=("Add",), include_nodes=(f"^{head_conv}$",))
    assert head_conv in default and head_conv not in changed
    assert adds and all(changed[name] == USER for name in adds)
    first = graph.nodes[0].name
    assert keep_out(graph, description, exclude_nodes=(first[:5],))[first] == USER  # re.match: a prefix


@pytest.mark.parametrize("make, args, message", [
    (lambda tmp: None, ["--calib", "{empty}"], "calibration folder .*empty does not exist"),
    (lambda tmp: (tmp / "blank" / "train").mkdir(parents=True), ["--calib", "{blank}"], "has no images"),
    (None, ["--calib", "{calib}", "--calib-images", "5"], "has 4 images, fewer than the 5 asked"),
    (None, ["--calib", "{calib}", "--calib-images", "3"], "3 calibration images do not fill batches of 2"),
    (None, [], "--int8 needs --calib DIR"),
    (None, ["--calib", "{calib}", "--exclude-nodes", "no_such_node"], "matches no node name"),
    (None, ["--fp16", "--calib", "{calib}"], "are for --int8"),
])
def test_bad_quantize_requests_are_one_line_errors(models, calib_data, tmp_path, capsys, make, args, message):
    if make is not None:
        make(tmp_path)
    folders = {"calib": calib_data, "empty": tmp_path / "empty", "blank": tmp_path / "blank"}
    args = [a.format(**folders) for a in args]
    out = tmp_path / "out.onnx"
    code, _, err = run(capsys, "export", "quantize", models["bbox"].portable, "--out", out, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert re.search(message, err), err
    assert not out.exists()


def test_a_quantized_patched_or_same_file_model_is_refused(int8_onnx, fp16_onnx, models, calib_data, tmp_path,
                                                           capsys):
    cases = [(int8_onnx, "is already INT8 (Q/DQ nodes)"), (fp16_onnx, "is already FP16 (float16 types)"),
             (models["bbox"].patched, "is patched with plugin nodes")]
    for source, message in cases:
        code, _, err = run(capsys, "export", "quantize", source, "--calib", calib_data, "--out", tmp_path / "x.onnx")
        assert code == 2 and message in err and err.count("\n") == 1
    before = models["bbox"].portable.read_bytes()
    code, _, err = run(capsys, "export", "quantize", models["bbox"].portable, "--fp16", "--out",
                       models["bbox"].portable)
    assert code == 2 and "would destroy the input" in err and models["bbox"].portable.read_bytes() == before


def test_eval_and_infer_run_the_int8_model_and_eval_warns_on_its_calibration_images(int8_onnx, calib_data, tmp_path,
                                                                                      capsys):
    code, out, err = run(capsys, "eval", int8_onnx, "--data", calib_data)  # its val split: no warning
    assert code == 0 and "(onnxruntime)" in out and "calibrated on" not in err
    code, _, err = run(capsys, "eval", int8_onnx, "--ann", calib_data / "annotations" / "train.json",
                       "--images", calib_data / "train")
    assert code == 0 and "warning: the model was calibrated on" in err
    code, _, _ = run(capsys, "infer", int8_onnx, calib_data / "val", "--out", tmp_path / "drawn", "--quiet")
    assert code == 0 and len(list((tmp_path / "drawn").iterdir())) == 2


def test_a_frames_model_calibrates_on_frames_and_keeps_its_letterbox_out_of_int8(models, calib_data, tmp_path):
    """The calibration images go in as uint8 frames of their own sizes (calib_data's are 96–160 px),
    through the graph's letterbox, which stays in float like the rest of the FP32 parts."""
    from lsnet.export.engine_precision import LETTERBOX
    from lsnet.export.frames_graph import FRAMES_NODE_PREFIX
    from lsnet.export.quantize import QuantizeOptions, quantize_onnx
    from lsnet.runtime import load

    frames = models.frames("bbox").portable
    int8 = quantize_onnx(frames, tmp_path / "bbox.frames.int8.onnx", QuantizeOptions(calib=calib_data, calib_images=4),
                         log=lambda _: None).out
    model = onnx.load(int8)
    record = precision_record(model)
    letterbox = {n.name for n in onnx.load(frames).graph.node if n.name.startswith(FRAMES_NODE_PREFIX)}
    assert letterbox and letterbox <= set(record["kept_out_nodes"][LETTERBOX])
    dequantized = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    assert not any(dequantized & set(n.input) for n in model.graph.node if n.name.startswith(FRAMES_NODE_PREFIX))
    assert graph_precision(model) == "int8" and record["qdq_pairs"] > 0
    frame = np.random.default_rng(0).integers(0, 256, (75, 131, 3), dtype=np.uint8)  # a size not calibrated on
    dets = load(int8).predict(frame)
    assert load(int8).description.takes_frames and len(dets.scores) > 0
    assert (dets.boxes[:, [2, 3]] <= [131, 75]).all() and (dets.boxes >= 0).all()  # frame pixels
