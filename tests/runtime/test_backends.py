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
from lsnet.runtime.detections import Detections

from runtime_helpers import INPUT_SIZE


def test_the_suffix_picks_the_backend(small_checkpoint, small_onnx):
    torch_detector, onnx_detector = load(small_checkpoint), load(small_onnx)
    assert isinstance(torch_detector, TorchDetector) and torch_detector.backend == "pytorch"
    assert isinstance(onnx_detector, OnnxRuntimeDetector) and onnx_detector.backend == "onnxruntime"
    assert onnx_detector.description.class_names == torch_detector.description.class_names
    assert onnx_detector.export_info["checkpoint"] == small_checkpoint.name


def test_a_static_export_has_a_fixed_canvas_and_batch_and_pads_smaller_batches(small_checkpoint, tmp_path):
    from lsnet.export.onnx_export import export_onnx

    detector = load(export_onnx(small_checkpoint, tmp_path / "b2.onnx", batch=2))
    assert (detector.dynamic, detector.max_batch) == (False, 2)
    image = np.random.default_rng(0).integers(0, 256, (90, 200, 3), np.uint8)
    results = detector.predict([image] * 3)  # a chunk of 2, then 1 padded up to 2
    assert len(results) == 3 and all(isinstance(r, Detections) for r in results)
    assert detector.canvas_for([image]) == INPUT_SIZE


def test_a_dynamic_export_takes_any_canvas_and_batch(small_checkpoint, tmp_path):
    from lsnet.export.onnx_export import export_onnx

    detector = load(export_onnx(small_checkpoint, tmp_path / "dyn.onnx", dynamic=True))
    assert (detector.dynamic, detector.max_batch) == (True, None)
    wide = np.zeros((40, 200, 3), np.uint8)
    assert detector.canvas_for([wide]) == (32, 128)  # 128 wide, height rounded up to the pad divisor
    assert len(detector.predict([wide, wide])) == 2


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
    ("model.engine", b"\x00" * 16, r"^TensorRT backend is not available here .*install TensorRT"),
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
    with pytest.raises(LSNetError, match=r"foreign\.onnx has no lsnet model description; export it with "
                                         r"`lsnet export onnx`"):
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
