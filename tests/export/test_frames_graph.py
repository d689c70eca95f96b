"""`lsnet.export.frames_graph`: the frames model letterboxes in its graph what the host pre-processing
letterboxes, maps its outputs to frame pixels as the host post-processing does, stays standard
ONNX, and goes through `lsnet export patch` onto the plugins' twins."""
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx_graphsurgeon as gs
import onnxruntime as ort
import pytest
from export_helpers import assert_same_detections
from skimage import data as skimage_data

from lsnet.description import EXPORT_INFO_KEY, ONNX_METADATA_KEY, ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.frames_graph import FRAMES_NODE_PREFIX, _resized_size, add_frames_input
from lsnet.export.graph_builder import GraphBuilder
from lsnet.runtime.backends.twins_ops import run_patched
from lsnet.runtime.detections import detections_from_padded
from lsnet.runtime.preprocess import fit_scale, preprocess

CANVAS = (128, 160)  # the test models' input size
REPO = Path(__file__).resolve().parents[2]


def description_of(path) -> ModelDescription:
    return ModelDescription.from_json({p.key: p.value for p in onnx.load(path).metadata_props}[ONNX_METADATA_KEY])


def photo(hw: tuple[int, int]) -> np.ndarray:
    """A natural BGR image of size hw (skimage's astronaut, resized with area averaging)."""
    astronaut = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    return cv2.resize(astronaut, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def session_with_outputs(path, extra: list[str]) -> ort.InferenceSession:
    """The model with some inner tensors as extra outputs."""
    model = onnx.load(path)
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in extra)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run_frames(path, frames: np.ndarray, extra: list[str] = ()) -> dict[str, np.ndarray]:
    session = session_with_outputs(path, list(extra))
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"frames": frames})))


def test_frames_model_is_checker_clean_standard_onnx_with_a_uint8_frames_input(models):
    path = models.frames("bbox").portable
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} == {""}  # the standard ONNX domain only
    (graph_input,) = model.graph.input
    dims = [d.dim_value or d.dim_param for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == "frames" and graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert dims == [2, "height", "width", 3]  # the recipe's batch 2, any frame size
    assert [o.name for o in model.graph.output] == ["num_dets", "boxes", "scores", "labels", "landmarks"]
    description = description_of(path)
    assert description.input_kind == "frames" and description.format_version == 2
    assert description.input_size == CANVAS
    assert json.loads({p.key: p.value for p in model.metadata_props}[EXPORT_INFO_KEY])["frames"] is True
    ops = {node.op_type for node in model.graph.node if node.name.startswith(FRAMES_NODE_PREFIX)}
    assert {"Cast", "Resize", "Transpose", "Pad", "Reshape"} <= ops


@pytest.mark.parametrize("frame_hw", [
    CANVAS,  # no resize: exact
    (100, 160),  # no resize, padded rows: exact
    (256, 320),  # exact 2× down (OpenCV switches to area averaging there)
    (64, 80),  # 2× up
    (1080, 1920),  # a 1080p frame into 128×160
    (55, 1408),  # a size whose float rounding misrounds (fit_scale's integers)
    (333, 97),  # odd sizes, the height binds
])
def test_the_letterbox_in_the_graph_is_the_host_preprocessing(models, frame_hw):
    path = models.frames("bbox").portable
    frame = photo(frame_hw)
    canvas = run_frames(path, np.stack([frame, frame]), ["images"])["images"]
    host, (letterbox,) = preprocess([frame], description_of(path))
    rh, rw = letterbox.resized_hw
    assert canvas.shape == (2, 3, *CANVAS) and np.array_equal(canvas[0], canvas[1])
    outside = np.ones(CANVAS, bool)
    outside[:rh, :rw] = False
    assert not canvas[0][:, outside].any() and not host[0][:, outside].any()  # the same padding, zeros
    grey_levels = np.abs(canvas[0] - host[0]) * np.reshape(description_of(path).std, (3, 1, 1))
    if frame_hw[0] == rh and frame_hw[1] == rw:
        assert grey_levels.max() < 1e-4  # no resize: only normalisation, the same float operations
    else:  # OpenCV's fixed-point INTER_LINEAR rounds to uint8, the graph keeps floats
        assert grey_levels.max() < 1.0 and grey_levels.mean() < 0.35


def test_the_resized_size_is_fit_scale_s_rounding_in_integers():
    sizes = [(h, w) for h in (1, 7, 55, 64, 100, 127, 128, 333, 480, 720, 1080, 1408, 2160)
             for w in (1, 9, 55, 99, 160, 187, 231, 640, 1280, 1408, 1920, 3840)]
    graph = gs.Graph(opset=19)
    h, w = (gs.Variable(n, dtype=np.int64, shape=[1]) for n in ("h", "w"))
    graph.inputs = [h, w]
    for canvas in ((128, 160), (192, 192), (800, 1344)):
        rh, rw = _resized_size(GraphBuilder(graph, f"c{canvas[0]}/"), h, w, canvas)
        graph.outputs += [rh, rw]
    for t in graph.outputs:
        t.dtype = np.int64
    session = ort.InferenceSession(gs.export_onnx(graph).SerializeToString(), providers=["CPUExecutionProvider"])
    for size in sizes:
        got = session.run(None, {"h": np.array([size[0]]), "w": np.array([size[1]])})
        for index, canvas in enumerate(((128, 160), (192, 192), (800, 1344))):
            assert (int(got[2 * index][0]), int(got[2 * index + 1][0])) == fit_scale(size, canvas)[1], (size, canvas)


def test_outputs_are_the_images_model_outputs_on_the_same_canvas_in_frame_pixels(models):
    """The mapping back, apart from the resize: the images model on the frames model's own canvas,
    post-processed on the host, gives the frames model's outputs."""
    frames = np.stack([photo((200, 300)), photo((200, 300))[::-1].copy()])
    framed = run_frames(models.frames("bbox").portable, frames, ["images"])
    images_session = ort.InferenceSession(str(models["bbox"].portable), providers=["CPUExecutionProvider"])
    canvas_outputs = dict(zip([o.name for o in images_session.get_outputs()],
                              images_session.run(None, {"images": framed["images"]})))
    _, letterboxes = preprocess(list(frames), description_of(models["bbox"].portable))
    expected = detections_from_padded(canvas_outputs, letterboxes, ["a", "b", "c"])
    assert sum(len(d) for d in expected) > 10
    for image, found in enumerate(expected):
        k = len(found)
        assert int(framed["num_dets"][image, 0]) == k
        np.testing.assert_array_equal(framed["labels"][image, :k], found.labels)
        np.testing.assert_array_equal(framed["scores"][image, :k], found.scores)
        np.testing.assert_allclose(framed["boxes"][image, :k], found.boxes, atol=1e-3, rtol=0)
        np.testing.assert_allclose(framed["landmarks"][image, :k], found.landmarks, atol=1e-3, rtol=0)
        assert framed["boxes"][image, :k, 2].max() <= 300 and framed["boxes"][image, :k, 3].max() <= 200


def test_patched_frames_graph_detects_what_the_portable_frames_graph_detects(models, twins):
    model = models.frames("bbox")
    assert model.report.pyramid_dcn_calls == 30
    frames = np.stack([photo((64, 80)), photo((64, 80))[:, ::-1].copy()])  # 2× up: frame pixels finer than canvas
    patched = run_patched(model.patched, {"frames": frames})
    assert_same_detections(patched, run_frames(model.portable, frames))
    assert patched["num_dets"].min() > 0
    graph_input = onnx.load(model.patched).graph.input[0]
    assert graph_input.name == "frames" and graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8


def test_the_twins_backend_runs_a_patched_frames_model_on_frames_of_any_size(models, twins):
    from lsnet.runtime import load

    model = models.frames("bbox")
    twins_detector, portable = load(model.patched), load(model.portable)
    assert twins_detector.backend == "twins" and twins_detector.description.takes_frames
    frames = [photo((64, 80)), photo((90, 120)), photo((90, 120))[::-1].copy()]  # two sizes: two batches
    for got, expected in zip(twins_detector.predict(frames), portable.predict(frames), strict=True):
        assert len(got) == len(expected) > 0
        np.testing.assert_allclose(got.boxes, expected.boxes, atol=1e-3)


def test_dynamic_frames_export_takes_any_batch_and_frame_size(models, twins):
    """`lsnet export onnx --frames --dynamic`: dynamic batch, static canvas behind the letterbox."""
    model = models["bbox_frames_dynamic"]
    onnx.checker.check_model(onnx.load(model.portable), full_check=True)
    dims = [d.dim_value or d.dim_param for d in onnx.load(model.portable).graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == ["height", "width", 3] and isinstance(dims[0], str)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(model.portable))
    canvas = next(v for v in inferred.graph.value_info if v.name == "images")
    assert [d.dim_value for d in canvas.type.tensor_type.shape.dim][1:] == [3, *CANVAS]  # static for TensorRT
    for batch, hw in ((1, (90, 120)), (3, (64, 80))):
        frames = np.stack([photo(hw)] * batch)
        portable = run_frames(model.portable, frames)
        assert portable["boxes"].shape[0] == batch
        assert_same_detections(run_patched(model.patched, {"frames": frames}), portable)


def test_add_frames_input_refuses_what_it_cannot_wrap(models, tmp_path):
    framed = onnx.load(models.frames("bbox").portable)
    with pytest.raises(LSNetError, match="takes frames already"):
        add_frames_input(framed)
    images = onnx.load(models["bbox"].portable)
    with pytest.raises(LSNetError, match=r"canvas is fixed at 128×160, not 256×320"):
        add_frames_input(images, (256, 320))
    with pytest.raises(LSNetError, match="must be a multiple of 32"):
        add_frames_input(images, (100, 160))
    del images.metadata_props[:]
    with pytest.raises(LSNetError, match="not an lsnet export"):
        add_frames_input(images)


COMMITTED = REPO / "models" / "lsnet_bbox_r10_synth.pt"


@pytest.fixture(scope="module")
def committed_pair(models, tmp_path_factory):
    """The committed bbox model's images export (cached) and its frames model, as detectors."""
    from lsnet.runtime import load

    if not COMMITTED.is_file():
        pytest.skip(f"{COMMITTED.name} is not in models/ yet")
    images_onnx = models.of_checkpoint(COMMITTED).portable
    frames_onnx = tmp_path_factory.mktemp("committed_frames") / "bbox.frames.onnx"
    onnx.save(add_frames_input(onnx.load(images_onnx)), frames_onnx)
    return load(images_onnx), load(frames_onnx)


def test_the_committed_model_finds_the_same_objects_in_1080p_frames_with_either_preprocessing(committed_pair,
                                                                                              tmp_path):
    """Issue 17, small scale: the frames model on ONNX Runtime against the host pre-processing, on a
    synthetic 1080p video (the full measurement: README, `lsnet compare … --images VIDEO`)."""
    from lsnet.data.video import write_video
    from lsnet.runtime.compare import agree, compare_detections
    from lsnet.runtime.sources import open_source

    host, in_graph = committed_pair
    video = write_video(tmp_path / "1080p.mp4", "bbox", 8, size=(1920, 1080))
    frames = [frame.image for frame in open_source(str(video))]
    summary = compare_detections(host.predict(frames), in_graph.predict(frames), score=0.3)
    assert summary["reference_detections"] >= 8 and agree(summary, min_iou=0.98), summary


def test_the_committed_model_keeps_its_ap_with_the_letterbox_in_the_graph(committed_pair, tmp_path):
    from lsnet.data.synth import write_dataset
    from lsnet.evaluation.predict import evaluate_detector, primary_metric

    write_dataset(tmp_path, "bbox", seed=0, counts={"train": 0, "val": 200})  # the split the README's AP is on
    ann, images = tmp_path / "annotations" / "val.json", tmp_path / "val"
    host, in_graph = committed_pair
    ap = [primary_metric("bbox", evaluate_detector(d, ann, images, max_images=60, progress=False))
          for d in (host, in_graph)]
    assert abs(ap[0] - ap[1]) <= 0.005 and ap[0] > 0.5, ap
