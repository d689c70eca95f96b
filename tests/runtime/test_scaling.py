"""`lsnet.runtime.scaling` and `lsnet bench --sizes`: every stage at every input size, table and plot."""
import json

import cv2
import numpy as np
import pytest

from lsnet.cli import main
from lsnet.errors import LSNetError
from lsnet.runtime import load
from lsnet.runtime.scaling import at_canvas, canvas_for_size, format_scaling_table, parse_size


@pytest.mark.parametrize("text, size", [("512", (512, 512)), ("800x1344", (800, 1344)), ("96×160", (96, 160)),
                                        ("720p", (720, 1280)), ("1080P", (1080, 1920)), ("4k", (2160, 3840))])
def test_sizes_are_squares_heights_by_widths_or_video_names(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["big", "10x10", "512x", "-1"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(LSNetError, match="size"):
        parse_size(text)


def test_the_canvas_of_an_input_is_its_size_rounded_up_to_the_pad_divisor():
    assert canvas_for_size((1080, 1920), 32) == (1088, 1920)
    assert canvas_for_size((192, 192), 32) == (192, 192)


def test_at_canvas_sets_the_input_size_for_the_measurement_only(small_checkpoint):
    detector = load(small_checkpoint)
    with at_canvas(detector, (96, 160)):
        assert detector.canvas_for([np.zeros((96, 150, 3), np.uint8)]) == (96, 160)
    assert detector.description.input_size == (128, 128)


def test_the_table_has_a_row_per_backend_and_size_and_dashes_for_missing_figures():
    entry = {"input": "96×96", "canvas": "96×96", "pre_ms": 0.5, "model_ms": 10.0, "post_ms": 0.1, "median_ms": 11.0,
             "pre_share": 0.05}
    table = format_scaling_table({"pytorch": [entry, {**entry, "input": "192×192"}]}).splitlines()
    assert len(table) == 3 and "decode ms" in table[0] and "pipeline FPS" in table[0]
    assert table[1].split()[:3] == ["pytorch", "96×96", "96×96"] and "–" in table[1]


def test_bench_sizes_runs_dynamic_models_at_each_size_and_fixed_ones_at_their_canvas(small_onnx, tmp_path, capsys):
    report = tmp_path / "sizes.json"
    assert main(["bench", str(small_onnx), "--backends", "pytorch", "--sizes", "64", "96x160",
                 "--runs", "2", "--warmup", "0", "--frames", "2", "--threads", "1", "--json", str(report)]) == 0
    results = json.loads(report.read_text())
    assert list(results["sizes"]) == ["pytorch"]  # MODEL's own backend only when asked for
    rows = results["sizes"]["pytorch"]
    assert [(r["input"], r["canvas"]) for r in rows] == [("64×64", "64×64"), ("96×160", "96×160")]
    assert all(r["model_ms"] > 0 and r["decode_ms"] > 0 and r["pipeline_fps"] > 0 for r in rows)
    plot = tmp_path / "sizes.png"
    assert results["plot"] == str(plot) and cv2.imread(str(plot)) is not None
    out = capsys.readouterr().out
    assert "pipeline/model" in out and f"wrote {plot}" in out

    # A static export letterboxes every size onto its canvas; its frames model does so in the graph.
    report = tmp_path / "static.json"
    assert main(["bench", str(small_onnx), "--backends", "onnxruntime", "--frames-model", "--sizes", "64", "720p",
                 "--runs", "2", "--warmup", "0", "--frames", "2", "--no-pipeline", "--json", str(report),
                 "--plot", str(tmp_path / "static.png")]) == 0
    sizes = json.loads(report.read_text())["sizes"]
    assert set(sizes) == {"onnxruntime", "onnxruntime+frames"}
    for rows in sizes.values():
        assert [(r["input"], r["canvas"]) for r in rows] == [("64×64", "128×128"), ("720×1280", "128×128")]
    assert (tmp_path / "static.png").is_file()


def test_bench_sizes_makes_its_own_video(small_onnx, synthetic_video, capsys):
    assert main(["bench", str(small_onnx), "--sizes", "64", "--video", str(synthetic_video)]) == 2
    assert "--sizes renders its own synthetic video" in capsys.readouterr().err
