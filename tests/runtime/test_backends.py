"""`lsnet.runtime.load`: the backend a file names, options, one-line errors, no torch for ONNX."""
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime import load
from lsnet.runtime.backends.onnxruntime_backend import OnnxRuntimeDetector
from lsnet.runtime.backends.torch_backend import TorchDetector


def test_the_suffix_picks_the_backend(small_checkpoint, small_onnx):
    torch_detector, onnx_detector = load(small_checkpoint), load(small_onnx)
    assert isinstance(torch_detector, TorchDetector) and torch_detector.backend == "pytorch"
    assert isinstance(onnx_detector, OnnxRuntimeDetector) and onnx_detector.backend == "onnxruntime"
    assert onnx_detector.description.class_names == torch_detector.description.class_names
    assert onnx_detector.export_info["checkpoint"] == small_checkpoint.name


def test_a_fixed_batch_graph_is_fed_padded_chunks_and_its_outputs_cut_back(fixed_output_onnx):
    detector = load(fixed_output_onnx(2, 128, 128))  # plumbing fixture: one fixed box in canvas pixels
    assert (detector.dynamic, detector.max_batch) == (False, 2)
    small, large = np.zeros((16, 64, 3), np.uint8), np.zeros((256, 512, 3), np.uint8)  # scale 2 and 0.25
    results = detector.predict([small, large, small])  # a chunk of 2, then 1 padded up to 2
    assert [len(r) for r in results] == [1, 1, 1]
    assert np.allclose(results[0].boxes, [[8, 8, 32, 16]])  # (16, 16, 64, 64) / 2, y clamped to the 16-row image
    assert np.allclose(results[1].boxes, [[64, 64, 256, 256]])  # / 0.25
    assert results[2].label_names() == ["triangle"] and results[2].scores[0] == np.float32(0.9)


def test_a_graph_with_symbolic_sizes_runs_the_input_size_unless_asked_for_the_smallest_canvas(fixed_output_onnx):
    dynamic = fixed_output_onnx("batch", "height", "width")
    detector = load(dynamic)
    assert (detector.dynamic, detector.max_batch) == (True, None)
    wide = np.zeros((40, 200, 3), np.uint8)
    assert detector.canvas_for([wide]) == (128, 128)  # the description's input size, as a fixed-size export
    tight = load(dynamic, tight_canvas=True)
    assert tight.canvas_for([wide]) == (32, 128)  # fits 128×128, height rounded up to the pad divisor
    assert len(tight.predict([wide] * 3)) == 3
    with pytest.raises(LSNetError, match=r"takes only its 128×128 input: a tight canvas needs a dynamic model"):
        load(fixed_output_onnx(1, 128, 128), tight_canvas=True)


def test_a_graph_whose_size_contradicts_its_description_is_refused(fixed_output_onnx):
    with pytest.raises(LSNetError, match=r"the graph's input is 96×128 but its description says 128×128"):
        load(fixed_output_onnx(1, 96, 128))


def test_backend_option_overrides_and_is_checked_against_the_file(small_onnx, small_checkpoint):
    with pytest.raises(LSNetError, match=r"no CUDAExecutionProvider .* install onnxruntime-gpu"):
        load(small_onnx, backend="onnxruntime-cuda")
    with pytest.raises(LSNetError, match=r"backend onnxruntime cannot run .*small\.pt"):
        load(small_checkpoint, backend="onnxruntime")
    with pytest.raises(LSNetError, match=r"unknown backend 'tflite'"):
        load(small_onnx, backend="tflite")
    with pytest.raises(LSNetError, match=r"backend pytorch does not take the options \['providers'\]"):
        load(small_checkpoint, providers=["CPUExecutionProvider"])


def test_threads_option_reaches_onnx_runtime(small_onnx):
    detector = load(small_onnx, threads=1)
    assert detector.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize("name, content, message", [
    ("model.txt", "hello", r"is not a model file: expected \.pt, \.onnx, \.engine, \.plan"),
    ("missing.onnx", None, r"model file .*missing\.onnx not found"),
    ("text.onnx", "not a protobuf", r"text\.onnx is not an ONNX model ONNX Runtime can run: .*Protobuf"),
    ("model.engine", b"\x00" * 16, r"model\.engine has no sidecar model\.engine\.json"),  # TensorRT's loader
])
def test_bad_model_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(LSNetError, match=message) as error:
        load(path)
    assert "\n" not in str(error.value)


def test_an_onnx_without_our_metadata_says_how_to_export(small_onnx, tmp_path):
    model = onnx.load(small_onnx)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "foreign.onnx")
    with pytest.raises(LSNetError, match=r"foreign\.onnx is not an lsnet model: it has no lsnet model description "
                                         r"\(metadata 'lsnet_description'\); export it with `lsnet export onnx`"):
        load(tmp_path / "foreign.onnx")


def test_runtime_and_onnx_inference_never_import_torch(small_onnx):
    # torch blocked outright: importing it anywhere on this path would raise ImportError.
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None
        import numpy as np
        from lsnet.runtime import load
        from lsnet.runtime.pipeline import run_pipeline
        from lsnet.runtime.sources import open_source
        from lsnet.runtime.bench import bench_detector
        detector = load({str(small_onnx)!r})
        detector.predict(np.zeros((50, 60, 3), np.uint8))
        print("ok", detector.backend)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok onnxruntime"


def scene_frame(hw: tuple[int, int]) -> np.ndarray:
    """A synthetic validation scene (shapes) at size hw."""
    import cv2

    from lsnet.data.synth import scene

    image = scene("bbox", 0, "val", 3, (96, 160), 4)[0]
    return cv2.resize(image, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)


def test_a_frames_model_takes_the_frame_as_it_is_and_agrees_with_the_images_model(small_onnx, small_frames_onnx):
    """Plumbing (the untrained small model detects little; tests/export/test_frames_graph.py compares
    detections of a model that detects)."""
    images_model, frames_model = load(small_onnx), load(small_frames_onnx)
    assert frames_model.description.takes_frames and not images_model.description.takes_frames
    assert (frames_model.dynamic, frames_model.max_batch, frames_model.input_name) == (False, 1, "frames")
    frame = scene_frame((96, 128))  # fits the 128×128 canvas unresized: the two pre-processings agree exactly
    batch, _ = frames_model.prepare([frame])
    assert batch.dtype == np.uint8 and batch.shape == (1, 96, 128, 3) and np.shares_memory(batch, frame)
    expected, found = images_model.predict(frame), frames_model.predict(frame)
    assert len(found) == len(expected)
    np.testing.assert_allclose(found.scores, expected.scores, atol=1e-5)
    np.testing.assert_allclose(found.boxes, expected.boxes, atol=1e-3)
    np.testing.assert_allclose(found.landmarks, expected.landmarks, atol=1e-3)
    assert (found.boxes[:, 2] <= 128).all() and (found.boxes[:, 3] <= 96).all()  # frame pixels, clamped to the frame


def test_a_frames_model_gets_batches_of_one_frame_size_and_answers_in_frame_pixels(fixed_output_onnx, tmp_path):
    from lsnet.export.frames_graph import add_frames_input

    path = tmp_path / "frames_fixture.onnx"  # plumbing: one fixed box (16, 16, 64, 64) in canvas pixels
    onnx.save(add_frames_input(onnx.load(fixed_output_onnx("batch", 128, 128))), path)
    detector = load(path)
    shapes, infer = [], detector.infer
    detector.infer = lambda batch: shapes.append(batch.shape) or infer(batch)
    tall, wide = np.zeros((64, 32, 3), np.uint8), np.zeros((256, 512, 3), np.uint8)  # scale 2 and 0.25
    results = detector.predict([tall, tall, wide, tall])
    assert shapes == [(2, 64, 32, 3), (1, 256, 512, 3), (1, 64, 32, 3)]  # runs of one size, in order
    assert [len(r) for r in results] == [1, 1, 1, 1]
    np.testing.assert_allclose(results[0].boxes, [[8, 8, 32, 32]])  # ÷ 2, x clamped to the 32-px-wide frame
    np.testing.assert_allclose(results[2].boxes, [[64, 64, 256, 256]])  # ÷ 0.25
    np.testing.assert_allclose(results[3].landmarks, results[0].landmarks)


def test_a_graph_whose_input_contradicts_its_input_kind_is_refused(small_onnx, tmp_path):
    from lsnet.description import ONNX_METADATA_KEY, ModelDescription

    model = onnx.load(small_onnx)
    entry = next(p for p in model.metadata_props if p.key == ONNX_METADATA_KEY)
    description = ModelDescription.from_json(entry.value)
    description.input_kind = "frames"
    entry.value = description.to_json()
    onnx.save(model, tmp_path / "mislabelled.onnx")
    with pytest.raises(LSNetError, match=r"says the model takes uint8 frames \[B, H, W, 3\], but the graph input "
                                         r"images is tensor\(float\) \[1, 3, 128, 128\]"):
        load(tmp_path / "mislabelled.onnx")
