"""`lsnet export onnx|patch`: what they write and print, and one-line `error:` exits on bad input."""
import json

import onnx
import onnx_graphsurgeon as gs
import pytest
from export_helpers import assert_same_detections, random_images, run_portable

from lsnet.cli import main
from lsnet.description import ONNX_METADATA_KEY, PATCHED_METADATA_KEY, ModelDescription
from lsnet.runtime.backends.twins_ops import run_patched


def run(capsys, *args: str) -> tuple[int, str, str]:
    """`lsnet ARGS…` in this process (the export modules are imported already): exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err


def tiny_onnx(path, metadata: dict[str, str]) -> str:
    """A two-node ONNX model with the given metadata: not an lsnet export."""
    x = onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    y = onnx.helper.make_tensor_value_info("num_dets", onnx.TensorProto.FLOAT, [1, 3, 8, 8])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["images"], ["num_dets"])], "g", [x], [y])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 19)])
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)
    return str(path)


@pytest.mark.slow
def test_export_onnx_writes_the_model_and_patch_swaps_its_subgraphs(models, tmp_path, capsys):
    """What a user runs: `lsnet export onnx` (a real, uncached export: ~1 min), then `lsnet export patch`."""
    checkpoint = models["bbox"].checkpoint
    written = tmp_path / "small.onnx"
    code, out, err = run(capsys, "export", "onnx", str(checkpoint), "--out", str(written), "--imgsz", "64", "96")
    assert code == 0, err
    assert f"wrote {written}" in out and f"lsnet export patch {written}" in out
    assert "export onnx: tracing the network" in err and "export onnx: checking" in err  # its progress
    model = onnx.load(written)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 64, 96]
    description = ModelDescription.from_json({p.key: p.value for p in model.metadata_props}[ONNX_METADATA_KEY])
    assert description.input_size == (64, 96)

    code, out, err = run(capsys, "export", "patch", str(written))
    patched = tmp_path / "small.trt.onnx"
    assert code == 0, err
    assert f"wrote {patched}" in out
    assert "replaced 30 pyramid-DCN subgraphs (GridSample+Conv) with LSNetPyramidDCN, 1 decode subgraph (" in out
    assert "lsnet export engine" in out
    images = random_images(1, (64, 96))
    assert_same_detections(run_patched(patched, {"images": images}), run_portable(written, images))


def test_export_onnx_bad_checkpoint_is_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    for checkpoint, message in ((bad, "not a readable checkpoint"), (tmp_path / "missing.pt", "not found")):
        code, _, err = run(capsys, "export", "onnx", str(checkpoint))
        assert_one_line_error(code, err, message)
    assert not list(tmp_path.glob("*.onnx"))


def test_patching_a_patched_model_is_an_error(models, tmp_path, capsys):
    code, _, err = run(capsys, "export", "patch", str(models["bbox"].patched), "--out", str(tmp_path / "twice.onnx"))
    assert_one_line_error(code, err, "already patched")
    stripped = onnx.load(models["bbox"].patched)
    kept = [p for p in stripped.metadata_props if p.key != PATCHED_METADATA_KEY]
    del stripped.metadata_props[:]
    stripped.metadata_props.extend(kept)
    onnx.save(stripped, tmp_path / "stripped.onnx")
    code, _, err = run(capsys, "export", "patch", str(tmp_path / "stripped.onnx"), "--out", str(tmp_path / "o.onnx"))
    assert_one_line_error(code, err, "already has lsnet plugin nodes")
    assert not (tmp_path / "twice.onnx").exists() and not (tmp_path / "o.onnx").exists()


def test_patching_a_model_that_is_not_an_lsnet_export_is_an_error(tmp_path, capsys):
    description = ModelDescription(task="bbox", class_names=["a"], input_size=(8, 8)).to_json()
    cases = [(tiny_onnx(tmp_path / "plain.onnx", {}), "not an lsnet model"),
             (tiny_onnx(tmp_path / "bare.onnx", {ONNX_METADATA_KEY: description}),
              "found 0 pyramid-DCN subgraphs"),
             (str(tmp_path / "missing.onnx"), "does not exist")]
    (tmp_path / "text.onnx").write_text("hello")
    cases.append((str(tmp_path / "text.onnx"), "not an ONNX model"))
    for path, message in cases:
        code, _, err = run(capsys, "export", "patch", path, "--out", str(tmp_path / "out.onnx"))
        assert_one_line_error(code, err, message)
    assert not (tmp_path / "out.onnx").exists()


def test_patching_a_model_without_its_decode_subgraph_is_an_error(models, tmp_path, capsys):
    """The network alone (head maps as outputs): the pyramid DCNs are there, the decode is not."""
    graph = gs.import_onnx(onnx.shape_inference.infer_shapes(onnx.load(models["bbox"].portable)))
    tensors = graph.tensors()
    graph.outputs = [tensors[f"{kind}_{level}"] for level in range(5) for kind in ("cls_logits", "landmark_vectors")]
    network = gs.export_onnx(graph.cleanup())
    network.metadata_props.extend(onnx.load(models["bbox"].portable).metadata_props)
    onnx.save(network, tmp_path / "network.onnx")
    code, _, err = run(capsys, "export", "patch", str(tmp_path / "network.onnx"), "--out", str(tmp_path / "o.onnx"))
    assert_one_line_error(code, err, "no decode subgraph found")


def test_patch_max_candidates_reaches_the_decode_node(models, tmp_path, capsys):
    out = tmp_path / "capped.onnx"
    code, _, err = run(capsys, "export", "patch", str(models["bbox"].portable), "--out", str(out),
                       "--max-candidates", "64")
    assert code == 0, err
    assert json.loads({p.key: p.value for p in onnx.load(out).metadata_props}[PATCHED_METADATA_KEY])[
        "max_candidates"] == 64
    (decode,) = [n for n in onnx.load(out).graph.node if n.op_type == "LSNetDecode"]
    assert {a.name: a.i for a in decode.attribute}["max_candidates"] == 64
    code, _, err = run(capsys, "export", "patch", str(models["bbox"].portable), "--out", str(out),
                       "--max-candidates", "0")
    assert_one_line_error(code, err, "--max-candidates")


@pytest.mark.parametrize("verb", ["onnx", "patch"])
def test_export_help_names_each_subcommand(verb, capsys):
    assert main(["export", verb, "--help"]) == 0
    assert "--out" in capsys.readouterr().out


def test_export_checkpoint_drops_the_training_state_and_halves_the_weights(tmp_path, capsys):
    import torch

    from lsnet.model.checkpoint import read_checkpoint, save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    model = LSNet(ModelConfig(num_classes=2, depth=10, fpn_channels=16, head_channels=16, gn_groups=4,
                              stacked_convs=1, tower="norm"))
    description = ModelDescription(task="bbox", class_names=["a", "b"], input_size=(64, 64))
    save_checkpoint(tmp_path / "best.pt", model, description, train_state={"iteration": 7, "optimizer": {}})
    assert main(["export", "checkpoint", str(tmp_path / "best.pt"), "--out", str(tmp_path / "deploy.pt"),
                 "--half"]) == 0
    assert "wrote" in capsys.readouterr().out
    deploy = read_checkpoint(tmp_path / "deploy.pt")
    assert "train" not in deploy and deploy["description"] == description.to_dict()
    assert all(v.dtype == torch.float16 for v in deploy["model"].values() if v.is_floating_point())
