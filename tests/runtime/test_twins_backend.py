"""The plugin CPU twins backend: a patched ONNX through `load`, `infer`, `eval` and `bench`."""
import json

import cv2
import numpy as np
import pytest

from lsnet.cli import main
from lsnet.errors import LSNetError
from lsnet.runtime import load
from lsnet.runtime.backends.twins_backend import TwinsDetector


def scenes(count: int) -> list[np.ndarray]:
    from lsnet.data.synth import scene

    return [scene("bbox", 0, "val", index, (96, 160), 4)[0] for index in range(count)]


def test_a_patched_onnx_runs_on_the_twins_and_detects_what_onnx_runtime_detects(small_onnx, small_patched, twins):
    twins_detector, portable = load(small_patched), load(small_onnx)
    assert isinstance(twins_detector, TwinsDetector) and twins_detector.backend == "twins"
    assert twins_detector.export_info["checkpoint"] == "small.pt"
    assert (twins_detector.dynamic, twins_detector.max_batch) == (portable.dynamic, portable.max_batch)
    images = scenes(3)
    expected, found = portable.predict(images), twins_detector.predict(images)
    for want, got in zip(expected, found, strict=True):
        # Random weights: 100 detections of near-equal scores, whose order may swap within 1e-7; so each
        # detection is paired with the other side's of the same label and nearest box.
        assert len(got) == len(want) == 100
        distance = np.abs(got.boxes[:, None] - want.boxes[None]).max(-1)
        distance[got.labels[:, None] != want.labels[None]] = np.inf
        pairs = distance.argmin(1)
        assert sorted(pairs) == list(range(100)) and distance.min(1).max() < 1e-3
        np.testing.assert_allclose(got.scores, want.scores[pairs], atol=1e-6)
        np.testing.assert_allclose(got.landmarks, want.landmarks[pairs], atol=1e-3)
    assert 0 < twins_detector.timings["decode"] < twins_detector.timings["model"]


def test_onnx_runtime_on_a_patched_onnx_is_one_line_naming_the_twins(small_patched):
    with pytest.raises(LSNetError, match=r"is a patched ONNX: ONNX Runtime cannot run its TensorRT plugin nodes; "
                                         r"run it with --backend twins") as error:
        load(small_patched, backend="onnxruntime")
    assert "\n" not in str(error.value)


def test_infer_eval_and_bench_run_a_patched_onnx(small_patched, tiny_bbox_data, twins, tmp_path, capsys):
    image = tmp_path / "scene.png"
    cv2.imwrite(str(image), scenes(1)[0])
    assert main(["infer", str(small_patched), str(image), "--out", str(tmp_path / "drawn.png"), "--quiet"]) == 0
    assert "twins)" in capsys.readouterr().out
    assert main(["eval", str(small_patched), "--data", str(tiny_bbox_data), "--max-images", "2"]) == 0
    assert "(twins) on" in capsys.readouterr().out
    report = tmp_path / "bench.json"
    assert main(["bench", str(small_patched), "--runs", "2", "--warmup", "0", "--no-pipeline", "--threads", "1",
                 "--json", str(report)]) == 0
    backends = json.loads(report.read_text())["backends"]
    assert list(backends) == ["twins", "pytorch"] and backends["twins"]["threads"] == 1
    assert 0 < backends["twins"]["decode_share"] < 1
