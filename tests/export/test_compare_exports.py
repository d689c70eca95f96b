"""`lsnet compare` on the CPU: a checkpoint (PyTorch), its portable ONNX (ONNX Runtime) and its patched
ONNX (plugin CPU twins) detect the same things on the same images."""
import json

import cv2
import numpy as np

from lsnet.cli import main


def test_pytorch_onnx_runtime_and_the_patched_graph_agree(models, twins, tmp_path, capsys):
    model = models["bbox"]
    report = tmp_path / "compare.json"
    code = main(["compare", str(model.checkpoint), str(model.portable), str(model.patched), "--count", "2",
                 "--batch", "2", "--score", "0.2", "--threads", "1", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(report.read_text())
    assert result["reference_backend"] == "pytorch" and result["reference_detections"] > 0
    backends = {entry["backend"] for entry in result["models"].values()}
    assert backends == {"onnxruntime", "twins"}
    for entry in result["models"].values():
        assert entry["agree"] and entry["matched"] == result["reference_detections"]
        assert entry["box_iou_min"] > 0.999 and entry["box_abs_max"] < 1e-3
    assert out.count("agree") == 2 and f"wrote {report}" in out


def test_compare_reads_a_folder_of_images(models, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(2):
        cv2.imwrite(str(folder / f"{index}.png"), np.full((100, 120, 3), 60 + 80 * index, np.uint8))
    code = main(["compare", str(models["bbox"].checkpoint), str(models["bbox"].portable), "--images", str(folder),
                 "--score", "0.2", "--threads", "1"])
    captured = capsys.readouterr()
    assert code == 0 and f"2 images ({folder})" in captured.err and "agree" in captured.out


def test_compare_needs_two_models(models, capsys):
    assert main(["compare", str(models["bbox"].portable)]) == 2
    assert "compare needs at least two models" in capsys.readouterr().err
    assert main(["compare", str(models["bbox"].portable), str(models["bbox"].portable)]) == 2
    assert "two different model files" in capsys.readouterr().err
