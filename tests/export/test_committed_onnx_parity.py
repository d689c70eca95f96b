"""The committed models on ONNX Runtime equal PyTorch (issues #3, #6): raw head maps to 1e-4, COCO AP
to 0.005 on the synthetic val split of each task, and static exports at two sizes and batches; and each
reaches the AP the README reports. (Dynamic exports at two sizes and batches 1 and 2: test_patch.py, on
a small model — a dynamic export of this one takes two minutes.)"""
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from export_helpers import assert_same_detections, run_portable, run_pytorch

from lsnet.data.synth import write_dataset
from lsnet.evaluation.predict import evaluate_detector, primary_metric
from lsnet.export.onnx_export import HeadMaps, output_names
from lsnet.model.checkpoint import load_model
from lsnet.runtime import load
from lsnet.runtime.preprocess import preprocess

MODELS = Path(__file__).resolve().parents[2] / "models"
COMMITTED = MODELS / "lsnet_bbox_r10_synth.pt"
# task → (committed model, the AP it must keep). bbox (#2) and segm (#6) reach what their issues ask
# (0.60, 0.50); the pose model reaches keypoint AP 0.325, short of #6's 0.50 (models/README.md), so
# its floor here guards what it has, not what the issue asks.
TASK_MODELS = {"bbox": (COMMITTED, 0.60), "segm": (MODELS / "lsnet_segm_r10_synth.pt", 0.50),
               "pose": (MODELS / "lsnet_pose_r10_synth.pt", 0.30)}


def committed(task: str) -> Path:
    path = TASK_MODELS[task][0]
    if not path.is_file():
        pytest.skip(f"{path.name} is not in models/ yet")
    return path


@pytest.fixture(scope="module")
def val_sets(tmp_path_factory):
    """task → the synthetic val split its committed model was evaluated on (same generator and seed)."""
    def make(task: str) -> Path:
        root = tmp_path_factory.mktemp(f"synth_val_{task}")
        write_dataset(root, task, seed=0, counts={"train": 0, "val": 200})
        return root
    made = {}
    return lambda task: made.setdefault(task, make(task))


@pytest.fixture(scope="module")
def val_images(val_sets):
    import cv2

    return [cv2.imread(str(p)) for p in sorted((val_sets("bbox") / "val").glob("*.jpg"))[:4]]


def head_maps_onnx(path: Path, images: np.ndarray, description) -> dict[str, np.ndarray]:
    """The per-level maps inside the exported graph (the decode subgraph's inputs)."""
    model = onnx.load(path)
    names = output_names(description)
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(names, session.run(names, {"images": images})))


def test_raw_head_maps_match_pytorch_to_1e4(models, val_images):
    exported = models.of_checkpoint(committed("bbox"))
    model, description = load_model(COMMITTED)
    for image in val_images:
        batch, _ = preprocess([image], description)
        with torch.no_grad():
            expected = HeadMaps(model)(torch.from_numpy(batch))
        got = head_maps_onnx(exported.portable, batch, description)
        for name, want in zip(output_names(description), expected):
            np.testing.assert_allclose(got[name], want.numpy(), atol=1e-4, rtol=0, err_msg=name)


@pytest.mark.parametrize("task", ["bbox", "segm", "pose"])
def test_onnx_runtime_ap_is_within_0005_of_pytorch_ap(models, val_sets, task):
    checkpoint, required_ap = committed(task), TASK_MODELS[task][1]
    onnx_model = models.of_checkpoint(checkpoint).portable
    data = val_sets(task)
    ann, images = data / "annotations" / "val.json", data / "val"
    ap_torch = primary_metric(task, evaluate_detector(load(checkpoint), ann, images, progress=False))
    ap_onnx = primary_metric(task, evaluate_detector(load(onnx_model), ann, images, progress=False))
    assert abs(ap_onnx - ap_torch) <= 0.005, (ap_onnx, ap_torch)
    assert ap_torch >= required_ap


@pytest.mark.parametrize("options,canvas", [
    ({}, None),  # the description's input size, batch 1
    ({"imgsz": (160, 224), "batch": 2}, (160, 224)),  # another size, batch 2
])
def test_static_exports_equal_pytorch(models, val_images, options, canvas):
    exported = models.of_checkpoint(committed("bbox"), **options)
    _, description = load_model(COMMITTED)
    images, _ = preprocess(val_images[:options.get("batch", 1)], description, canvas)
    assert_same_detections(run_portable(exported.portable, images), run_pytorch(COMMITTED, images))


def test_on_a_non_square_video_the_fixed_size_onnx_and_the_checkpoint_detect_the_same(models, tmp_path, capsys):
    """Every backend runs a frame on the model's input size (`lsnet.runtime.preprocess.batch_canvas`): a
    320×240 frame is letterboxed into 192×192 by the fixed-size ONNX and by PyTorch alike. The tight
    160×192 canvas, which PyTorch runs only when asked, gives other detections (GroupNorm sees the padding)."""
    from lsnet.cli import main
    from lsnet.data.video import write_video
    from lsnet.runtime.compare import agree, compare_detections
    from lsnet.runtime.sources import open_source

    video = write_video(tmp_path / "wide.mp4", "bbox", frames=4, size=(320, 240), seed=1)
    onnx_model = models.of_checkpoint(committed("bbox")).portable
    report = tmp_path / "compare.json"
    assert main(["compare", str(COMMITTED), str(onnx_model), "--images", str(video), "--score", "0.1",
                 "--threads", "1", "--json", str(report)]) == 0
    assert "every model on the 192×192 input size" in capsys.readouterr().err
    import json
    result = json.loads(report.read_text())["models"][str(onnx_model)]
    assert result["agree"] and result["matched"] >= 10 and result["score_abs_max"] < 1e-3

    frames = [frame.image for frame in open_source(str(video))]
    fixed = load(onnx_model, threads=1).predict(frames)
    tight = load(COMMITTED, tight_canvas=True)
    assert tight.canvas_for(frames) == (160, 192)
    differences = compare_detections(fixed, tight.predict(frames), score=0.1)
    assert differences["score_abs_max"] > 0.005 or not agree(differences)
