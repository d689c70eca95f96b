"""`lsnet infer`, `lsnet bench`, `lsnet eval` through the real entry point: outputs, JSON, errors."""
import json

import cv2
import numpy as np
import pytest

from lsnet.cli import main


def test_infer_on_an_image_writes_the_drawn_image_and_says_what_next(small_onnx, tmp_path, capsys):
    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), np.full((60, 90, 3), 100, np.uint8))
    out = tmp_path / "drawn.png"
    assert main(["infer", str(small_onnx), str(image), "--out", str(out), "--quiet"]) == 0
    assert cv2.imread(str(out)).shape == (60, 90, 3)
    stdout = capsys.readouterr().out
    assert f"wrote {out} (1 frame in" in stdout and "onnxruntime" in stdout
    assert "detections drawn (score ≥ 0.3, other classes' duplicates left out) in 1 frame:" in stdout and "next: lsnet bench" in stdout


def test_infer_on_a_video_writes_a_video_with_every_frame(small_onnx, synthetic_video, tmp_path, capsys):
    out = tmp_path / "drawn.avi"
    assert main(["infer", str(small_onnx), str(synthetic_video), "--out", str(out), "--show-fps", "--batch", "3",
                 "--sheet", str(tmp_path / "sheet.png")]) == 0
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    assert (tmp_path / "sheet.png").is_file()
    captured = capsys.readouterr()
    assert f"wrote {out}, {tmp_path / 'sheet.png'} (12 frames" in captured.out
    assert f"--video {synthetic_video}" in captured.out and "on video" in captured.err


BENCH_KEYS = {"median_ms", "p10_ms", "p90_ms", "p99_ms", "spread", "fps", "pre_ms", "model_ms", "post_ms", "model_fps",
              "decode_ms", "decode_share", "pipeline_fps", "pipeline_vs_model", "speedup_vs_pytorch", "batch", "canvas",
              "file", "threads"}


def test_bench_measures_onnx_runtime_beside_pytorch_and_writes_the_json_schema(small_onnx, tmp_path, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", str(small_onnx), "--runs", "3", "--warmup", "1", "--frames", "4", "--threads", "1",
                 "--json", str(report)]) == 0
    written = json.loads(report.read_text())
    assert (written["threads"], written["rounds"], written["warmup"]) == (1, 3, 1)
    backends = written["backends"]
    assert set(backends) == {"onnxruntime", "pytorch"}
    assert backends["pytorch"]["file"].endswith("small.pt")  # found from the export's record
    for entry in backends.values():
        assert BENCH_KEYS <= set(entry)
        assert entry["p10_ms"] <= entry["median_ms"] <= entry["p90_ms"] <= entry["p99_ms"]
        assert entry["spread"] == pytest.approx((entry["p90_ms"] - entry["p10_ms"]) / entry["median_ms"])
        assert entry["fps"] == pytest.approx(1000 / entry["median_ms"])
        assert 0 < entry["decode_share"] < 1 and entry["pipeline_fps"] > 0
        assert entry["canvas"] == [128, 128]  # one canvas for both, as the static export fixes it
        assert entry["threads"] == 1 and entry["pipeline_frames"] == 4
    assert backends["pytorch"]["speedup_vs_pytorch"] == 1.0
    low, high = backends["onnxruntime"]["speedup_vs_pytorch_ci95"]
    assert low <= backends["onnxruntime"]["speedup_vs_pytorch"] <= high
    captured = capsys.readouterr()
    table = captured.out
    assert "median ms" in table and "spread" in table and "pipeline/model" in table and f"wrote {report}" in table
    assert "× pytorch: median over the rounds" in table  # the legend, under the table
    assert "3 interleaved rounds (1 CPU thread each; load average" in captured.err


def test_bench_times_the_pipeline_on_the_first_frames_of_a_video(small_onnx, synthetic_video, tmp_path):
    report = tmp_path / "bench.json"
    assert main(["bench", str(small_onnx), "--backends", "onnxruntime", "--video", str(synthetic_video), "--runs", "2",
                 "--frames", "5", "--json", str(report)]) == 0
    entry = json.loads(report.read_text())["backends"]["onnxruntime"]
    assert entry["pipeline_frames"] == 5 and "speedup_vs_pytorch" not in entry  # the video has 12


def test_a_time_limit_cuts_the_rounds_and_the_pipeline_short(small_onnx, synthetic_video, tmp_path, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", str(small_onnx), "--backends", "onnxruntime", "--video", str(synthetic_video),
                 "--runs", "1000", "--warmup", "0", "--time-limit", "0.0001", "--json", str(report)]) == 0
    written = json.loads(report.read_text())
    assert written["rounds"] == 5 and written["backends"]["onnxruntime"]["runs"] == 5  # the least it keeps
    assert written["backends"]["onnxruntime"]["pipeline_frames"] < 12
    assert "the time limit (0.0001 s) stopped the rounds after 5 of 1000" in capsys.readouterr().err


def test_bench_warns_when_the_timings_vary_too_much_to_trust(small_onnx, tmp_path, capsys, monkeypatch):
    from lsnet.runtime import bench

    monkeypatch.setattr(bench, "SPREAD_LIMIT", -1.0)  # every spread is "too wide": the warning's wording
    assert main(["bench", str(small_onnx), "--backends", "onnxruntime", "--runs", "2", "--no-pipeline",
                 "--threads", "2", "--json", str(tmp_path / "b.json")]) == 0
    err = capsys.readouterr().err
    assert "warning: the timings vary too much to trust: onnxruntime latency p10–p90" in err
    assert "Rerun on a quiet machine, or with --threads 1" in err
    assert json.loads((tmp_path / "b.json").read_text())["warnings"][0].startswith("the timings vary")


def test_eval_prints_the_coco_table_and_writes_the_json_schema(small_onnx, tiny_bbox_data, tmp_path, capsys):
    report = tmp_path / "eval.json"
    assert main(["eval", str(small_onnx), "--data", str(tiny_bbox_data), "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())
    assert list(metrics) == ["bbox", "per_class"]
    assert {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"} <= set(metrics["bbox"])
    assert all(-1 <= v <= 1 for v in metrics["bbox"].values())
    classes = metrics["per_class"]["bbox"]
    assert list(classes) == ["ellipse", "triangle", "rectangle", "star", "cross"]
    assert all(set(row) == {"AP", "AP50", "AP75", "R50", "R50@0.3", "instances"} for row in classes.values())
    plot = tmp_path / "eval_pr.png"  # beside --json
    assert cv2.imread(str(plot)).shape[2] == 3
    stdout = capsys.readouterr().out
    assert "AP50" in stdout and "bbox per class" in stdout and "R50@0.3" in stdout
    assert f"wrote {report}, {plot}" in stdout


def test_eval_on_a_video_with_its_ground_truth(small_onnx, tmp_path, capsys):
    video, truth = tmp_path / "v.mp4", tmp_path / "v.json"
    assert main(["data", "video", "--task", "bbox", "--out", str(video), "--frames", "3", "--size", "96", "64",
                 "--annotations", str(truth)]) == 0
    assert f"lsnet eval MODEL --ann {truth} --images {video}" in capsys.readouterr().out
    plot = tmp_path / "pr.png"
    assert main(["eval", str(small_onnx), "--ann", str(truth), "--images", str(video), "--plot", str(plot)]) == 0
    assert f"on {truth}" in capsys.readouterr().out and plot.is_file()


@pytest.mark.parametrize("argv, message", [
    (["infer", "missing.onnx", "SOURCE"], "error: model file missing.onnx not found"),
    (["infer", "{onnx}", "{tmp}/none.mp4"], "error: source {tmp}/none.mp4 not found"),
    (["infer", "{onnx}", "99"], "error: cannot open camera 99"),
    (["infer", "{onnx}", "{tmp}/text.jpg"], "error: {tmp}/text.jpg is not a readable image"),
    (["infer", "{onnx}", "{video}", "--out", "{tmp}/out.mkv"], "error: cannot write {tmp}/out.mkv"),
    (["infer", "{onnx}", "{video}", "--batch", "0"], "error: argument --batch: must be an integer ≥ 1, got 0"),
    (["infer", "{onnx}", "{video}", "--backend", "onnxruntime-cuda"], "error: this ONNX Runtime has no CUDA"),
    (["infer", "{tmp}/text.jpg", "{video}"], "error: {tmp}/text.jpg is not a model file"),
    (["bench", "{onnx}", "--backends", "tflite"], "error: unknown backends tflite"),
    (["bench", "{tmp}/copy.onnx"], "error: bench compares with PyTorch but found no checkpoint"),
    (["bench", "{onnx}", "--runs", "0"], "error: argument --runs: must be an integer ≥ 1, got 0"),
    (["eval", "{onnx}", "--data", "{tmp}"], "error: dataset folder {tmp} has no annotations/val.json"),
    (["eval", "{onnx}", "--ann", "{tmp}/a.json"], "error: --ann needs --images DIR"),
    (["eval", "{tmp}/model.engine", "--data", "{data}"], "error: {tmp}/model.engine has no sidecar"),
])
def test_bad_input_is_a_one_line_error(small_onnx, synthetic_video, tiny_bbox_data, tmp_path, capsys, argv, message):
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "model.engine").write_bytes(b"\0" * 8)
    (tmp_path / "copy.onnx").write_bytes(small_onnx.read_bytes())  # an export whose checkpoint is not beside it
    names = {"onnx": small_onnx, "video": synthetic_video, "data": tiny_bbox_data, "tmp": tmp_path}
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(**names)) and err.count("\n") == 1


def test_infer_and_eval_run_a_frames_model(small_frames_onnx, synthetic_video, tiny_bbox_data, tmp_path, capsys):
    out = tmp_path / "drawn.avi"
    assert main(["infer", str(small_frames_onnx), str(synthetic_video), "--out", str(out), "--batch", "2",
                 "--quiet"]) == 0
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    report = tmp_path / "eval.json"  # the val images have several sizes: one model call per image
    assert main(["eval", str(small_frames_onnx), "--data", str(tiny_bbox_data), "--json", str(report)]) == 0
    assert set(json.loads(report.read_text())["bbox"]) >= {"AP", "AP50"}


def test_bench_frames_model_times_host_and_in_graph_preprocessing_in_one_run(small_onnx, tmp_path):
    report = tmp_path / "bench.json"
    assert main(["bench", str(small_onnx), "--frames-model", "--backends", "onnxruntime", "--runs", "3",
                 "--warmup", "1", "--frames", "4", "--threads", "1", "--json", str(report)]) == 0
    backends = json.loads(report.read_text())["backends"]
    assert set(backends) == {"onnxruntime", "onnxruntime+frames"}
    host, in_graph = backends["onnxruntime"], backends["onnxruntime+frames"]
    assert in_graph["file"].endswith("small.frames.onnx") and in_graph["canvas"] == host["canvas"] == [128, 128]
    for entry in (host, in_graph):
        assert BENCH_KEYS - {"speedup_vs_pytorch"} <= set(entry) and entry["pipeline_vs_model"] > 0
