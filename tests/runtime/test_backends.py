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


def test_a_graph_with_symbolic_sizes_is_fed_the_smallest_canvas(fixed_output_onnx):
    detector = load(fixed_output_onnx("batch", "height", "width"))
    assert (detector.dynamic, detector.max_batch) == (True, None)
    wide = np.zeros((40, 200, 3), np.uint8)
    assert detector.canvas_for([wide]) == (32, 128)  # fits 128×128, height rounded up to the pad divisor
    assert len(detector.predict([wide] * 3)) == 3


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
