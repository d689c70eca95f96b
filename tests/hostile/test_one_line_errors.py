"""Hostile input, tracebacks: every value of the wrong type or range — an option, a config key, a
field of a checkpoint, of ONNX metadata, of an engine sidecar, of an annotation file — and every
environment problem is one `error:` line and exit 2, never a traceback."""
import json
import pickle
from pathlib import Path

import onnx
import pytest
import torch
from hostile_helpers import assert_error, edit_json, lsnet

# ---- options: one line from the parser, for every verb ----------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["infer", "M", "IMG", "--threads", "-1"], "argument --threads: must be an integer ≥ 0"),
    (["infer", "M", "IMG", "--device", "tpu"], "argument --device: must be cpu, cuda, cuda:N or tensorrt"),
    (["eval", "M", "--data", "D", "--max-images", "-1"], "argument --max-images"),
    (["bench", "M", "--warmup", "x"], "argument --warmup: an integer expected, got 'x'"),
    (["bench", "M", "--video", "missing.mp4"], "argument --video: missing.mp4 not found"),
    (["compare", "M", "M", "--count", "0"], "argument --count: must be an integer ≥ 1"),
    (["export", "onnx", "M", "--batch", "0"], "argument --batch: must be an integer ≥ 1"),
    (["export", "engine", "M", "--contexts", "0"], "argument --contexts: must be an integer ≥ 1"),
    (["export", "triton", "E", "--repo", "R", "--gpus", "-1"], "argument --gpus"),
    (["data", "video", "--task", "bbox", "--out", "v.mp4", "--fps", "0"], "argument --fps: must be a positive number"),
    (["data", "synth", "--task", "bbox"], "the following arguments are required: --out"),
    (["train", "--resumee"], "unrecognized arguments: --resumee"),
], ids=lambda v: "-".join(v) if isinstance(v, list) else None)
def test_a_bad_option_is_one_line_from_the_parser(argv, words, onnx_copy, image, tmp_path, capsys):
    names = {"M": onnx_copy, "IMG": image, "D": tmp_path, "E": tmp_path / "m.engine", "R": tmp_path / "repo"}
    assert_error(lsnet(capsys, *[names.get(a, a) for a in argv]), words, "--help")


# ---- training configuration ------------------------------------------------------------------------

@pytest.mark.parametrize("override, words", [
    ("batch=0", "config: batch must be an integer ≥ 1, got 0"),
    ("batch=2.5", "config: batch must be an integer ≥ 1, got 2.5"),
    ("device=tpu", "config: device must be auto, cpu, cuda or cuda:N, got 'tpu'"),
    ("imgsz=[a,b]", "config: imgsz [H, W] must be a list of integers ≥ 32, got ['a', 'b']"),
    ("imgsz=[1,2", "config: imgsz: cannot read '[1,2'"),
    ("lr=nan", "config: lr must be a number > 0, got nan"),
    ("workers=-1", "config: workers must be an integer ≥ 0"),
    ("optimizer=rmsprop", "config: optimizer must be one of sgd, adamw"),
    ("flip=2", "config: flip must be a number ≥ 0 and ≤ 1"),
    ("lr_steps=[x]", "config: lr_steps must be a list of finite numbers"),
    ("amp=maybe", "config: amp must be true or false"),
    ("epoch=3", "unknown config key epoch"),
])
def test_a_config_value_of_the_wrong_type_or_range_is_one_line(override, words, tmp_path, capsys):
    assert_error(lsnet(capsys, "train", f"data={tmp_path}", f"out={tmp_path / 'run'}", override), words)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, words", [("- a list\n- not a mapping\n", "must be a mapping of keys to values"),
                                         ("batch: [1, 2\n", "is not valid YAML")], ids=["list", "yaml syntax"])
def test_a_config_file_that_is_not_a_mapping_is_one_line(text, words, tmp_path, capsys):
    (tmp_path / "run.yaml").write_text(text)
    assert_error(lsnet(capsys, "train", tmp_path / "run.yaml"), words)


def test_a_config_file_path_is_relative_to_the_file_not_the_current_folder(dataset, tiny_train, tmp_path, capsys,
                                                                           monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "run.yaml").write_text("data: ../data\nload_from: ../models/missing.pt\n")
    monkeypatch.chdir(dataset / "val")  # somewhere else: `data` is found all the same, then `load_from` is missing
    assert_error(lsnet(capsys, "train", tmp_path / "configs" / "run.yaml", *tiny_train, f"out={tmp_path / 'run'}"),
                 f"checkpoint {tmp_path / 'models' / 'missing.pt'} not found")


def test_device_cuda_without_cuda_is_one_line_for_training(dataset, tiny_train, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_error(lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}", "device=cuda"),
                 "device cuda requested but PyTorch sees no CUDA GPU")


@pytest.mark.parametrize("model", ["checkpoint", "onnx"])
def test_device_cuda_without_cuda_is_one_line_for_every_backend(model, checkpoint_copy, onnx_copy, image, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = checkpoint_copy if model == "checkpoint" else onnx_copy
    assert_error(lsnet(capsys, "infer", path, image, "--device", "cuda"), "CUDA")


class _Payload:
    """A pickle that would run code when loaded (it would create `ran`)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("key", ["pretrained", "load_from"])
def test_a_code_running_pickle_as_weights_is_refused_and_never_run(key, dataset, tiny_train, tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"conv1.weight": _Payload(tmp_path / "ran")}))
    assert_error(lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}", f"{key}={evil}"),
                 str(evil))
    assert not (tmp_path / "ran").exists()


# ---- checkpoints --------------------------------------------------------------------------------------

def _edited_checkpoint(source: Path, target: Path, change) -> Path:
    ckpt = torch.load(source, weights_only=True)
    change(ckpt)
    torch.save(ckpt, target)
    return target


@pytest.mark.parametrize("change, words", [
    (lambda c: c.pop("model_config"), "is incomplete: its 'model_config' is missing"),
    (lambda c: c["model_config"].update(num_classes="5"), "model config: num_classes must be an integer"),
    (lambda c: c["description"].update(class_names=["a", "b"]), "5 classes in the config, 2 class names"),
    (lambda c: c["description"].update(mean=[1.0, 2.0]), "mean (R, G, B) must be a list of 3 items"),
    (lambda c: c["description"].update(format_version="1"), "format_version must be an integer"),
    (lambda c: c["description"].update(task="pose", num_landmarks=17, box_source=""),
     "task bbox in the config, pose in the"),
    (lambda c: c["description"].pop("input_size"), "incomplete: it lacks input_size"),
    (lambda c: c.update(version="2"), "has checkpoint version '2'"),
], ids=["no model config", "string num_classes", "fewer class names than classes", "2-value mean", "string version",
        "task mismatch", "no input size", "string checkpoint version"])
def test_a_checkpoint_with_a_missing_mistyped_or_inconsistent_field_is_one_line(change, words, small_checkpoint,
                                                                                 image, tmp_path, capsys):
    edited = _edited_checkpoint(small_checkpoint, tmp_path / "edited.pt", change)
    assert_error(lsnet(capsys, "infer", edited, image, "--out", tmp_path / "o.png"), words)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "list", "truncated"])
def test_a_file_that_is_not_a_checkpoint_is_one_line(content, small_checkpoint, image, tmp_path, capsys):
    path = tmp_path / "bad.pt"
    if content == "list":
        torch.save([1, 2, 3], path)
    elif content == "truncated":
        path.write_bytes(small_checkpoint.read_bytes()[:5000])
    else:
        path.write_bytes(content)
    assert_error(lsnet(capsys, "export", "onnx", path, "--out", tmp_path / "m.onnx"), str(path))


# ---- ONNX metadata --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, words", [
    ("lsnet_description", "{not json", "model description is not valid JSON"),
    ("lsnet_description", json.dumps({"task": "bbox"}), "incomplete: it lacks class_names, input_size"),
    ("lsnet_description", "MEAN2", "mean (R, G, B) must be a list of 3 items"),
    ("lsnet_description", "VERSION", "format_version must be an integer"),
    ("lsnet_export", "[1, 2]", "lsnet_export must be a mapping"),
], ids=["not json", "incomplete", "2-value mean", "string version", "export record not a mapping"])
def test_onnx_metadata_with_a_bad_field_is_one_line(key, value, words, small_onnx, image, tmp_path, capsys):
    from small_model import small_description

    description = small_description().to_dict()
    value = {"MEAN2": json.dumps({**description, "mean": [1, 2]}),
             "VERSION": json.dumps({**description, "format_version": "one"})}.get(value, value)
    model = onnx.load(small_onnx)
    for prop in model.metadata_props:
        if prop.key == key:
            prop.value = value
    onnx.save(model, tmp_path / "edited.onnx")
    for argv in (["infer", tmp_path / "edited.onnx", image], ["export", "patch", tmp_path / "edited.onnx"]):
        assert_error(lsnet(capsys, *argv), words)


def test_a_truncated_onnx_file_is_one_line(small_onnx, image, tmp_path, capsys):
    (tmp_path / "cut.onnx").write_bytes(small_onnx.read_bytes()[:100_000])
    assert_error(lsnet(capsys, "infer", tmp_path / "cut.onnx", image), "cut.onnx is not an ONNX model")


# ---- engine sidecars ------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("outputs"), "incomplete or damaged (it lacks outputs)"),
    (lambda d: d["build"].update(profiles=[]), "build.profiles must be a list of at least 1 item"),
    (lambda d: d["build"]["profiles"][0].update(min=[1, 3, 256, 256]), "not min ≤ opt ≤ max"),
    (lambda d: d.update(compute_capability="8.7"), "compute_capability must be a list of 2 items"),
    (lambda d: d.update(format_version="1"), "format_version must be an integer"),
    (lambda d: d["description"].update(class_names=[]), "class_names must be a list of at least 1 item"),
], ids=["no outputs", "empty profiles", "min above opt", "string compute capability", "string version",
        "no class names"])
def test_an_engine_sidecar_with_a_bad_field_is_one_line(change, words, sidecar, image, tmp_path, capsys):
    engine = sidecar(change)
    for argv in (["infer", engine, image], ["export", "triton", engine, "--repo", tmp_path / "repo"]):
        assert_error(lsnet(capsys, *argv), words)


# ---- annotation files ----------------------------------------------------------------------------------

@pytest.mark.parametrize("damage, words", [
    (lambda d: d["annotations"][0].update(bbox="10 10 20 20"), "has no bbox [x, y, w, h] of finite numbers"),
    (lambda d: d["annotations"][0].pop("area"), "has no area"),
    (lambda d: d.update(annotations={"0": {}}), "'annotations' is not a list"),
    (lambda d: d["images"][0].pop("height"), "has no valid height/width"),
    (lambda d: d["categories"][0].pop("name"), "needs an integer id and a name"),
    (lambda d: d["images"].append(dict(d["images"][0])), "is used 2 times"),
], ids=["string bbox", "no area", "annotations not a list", "image without height", "category without name",
        "duplicate image id"])
def test_eval_on_an_annotation_file_with_malformed_fields_is_one_line(damage, words, onnx_copy, dataset, capsys):
    edit_json(dataset / "annotations" / "val.json", damage)
    assert_error(lsnet(capsys, "eval", onnx_copy, "--data", dataset), words)


def test_a_degenerate_polygon_in_a_segm_val_split_is_one_line_before_training(dataset, tiny_train, tmp_path, capsys):
    edit_json(dataset / "annotations" / "val.json",
              lambda d: d["annotations"][0].update(segmentation=[[10, 10, 20, 20]]))
    assert_error(lsnet(capsys, "train", *tiny_train, "task=segm", f"data={dataset}", f"out={tmp_path / 'run'}"),
                 "a polygon of fewer than 3 points")


# ---- sources, data loading, comparing --------------------------------------------------------------------

def test_a_huge_camera_index_is_one_line(onnx_copy, capsys):
    assert_error(lsnet(capsys, "infer", onnx_copy, "99999999999999999999"), "cannot open camera 99999999999999999999")


def test_a_data_loader_worker_error_is_one_line_not_the_workers_traceback(dataset, tiny_train, tmp_path, capsys):
    (dataset / "train" / "000003.jpg").write_bytes(b"not a JPEG")
    argv = [a for a in tiny_train if not a.startswith("workers=")] + ["workers=1"]
    line = assert_error(lsnet(capsys, "train", *argv, f"data={dataset}", f"out={tmp_path / 'run'}"),
                        "cannot read image", "000003.jpg")
    assert "DataLoader worker" not in line and "Original Traceback" not in line


def test_compare_of_models_of_different_tasks_is_one_line(small_checkpoint, tmp_path, capsys):
    from lsnet.description import ModelDescription
    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    segm = LSNet(ModelConfig(task="segm", num_classes=5, depth=10, fpn_channels=16, head_channels=16, gn_groups=4,
                             stacked_convs=1, tower="norm"))
    description = ModelDescription(task="segm", class_names=["ellipse", "triangle", "rectangle", "star", "cross"],
                                   input_size=(128, 128))
    save_checkpoint(tmp_path / "segm.pt", segm, description)
    assert_error(lsnet(capsys, "compare", small_checkpoint, tmp_path / "segm.pt"), "cannot be compared",
                 "task bbox ≠ segm")
