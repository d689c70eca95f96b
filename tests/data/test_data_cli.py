"""`lsnet data synth|video` through the real entry point: output, next steps, one-line errors."""
import json

import cv2
import numpy as np
import pytest

from lsnet.cli import main


def test_data_synth_writes_the_coco_layout_and_says_what_next(tmp_path, capsys):
    out = tmp_path / "shapes"
    assert main(["data", "synth", "--task", "segm", "--out", str(out), "--train", "3", "--val", "2",
                 "--min-size", "64", "--max-size", "96"]) == 0
    data = json.loads((out / "annotations" / "train.json").read_text())
    assert len(data["images"]) == 3 and len(list((out / "val").glob("*.jpg"))) == 2
    assert all(64 <= im["width"] <= 96 and 64 <= im["height"] <= 96 for im in data["images"])
    stdout = capsys.readouterr().out
    assert "wrote 3 train images" in stdout and "next: lsnet train " in stdout


@pytest.mark.parametrize("gpu", [True, False])
def test_data_synth_suggests_a_config_this_machine_can_train(tmp_path, capsys, monkeypatch, gpu):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    out = tmp_path / "figures"
    assert main(["data", "synth", "--task", "pose", "--out", str(out), "--train", "1", "--val", "1"]) == 0
    stdout = capsys.readouterr().out
    assert "wrote 1 val image," in stdout
    if gpu:  # the default config: the official R-50 recipe
        assert f"next: lsnet train [CONFIG] data={out} task=pose" in stdout
    else:  # the committed small model's config, which trains on a CPU
        assert f"next: lsnet train configs/synth_pose_r10.yaml data={out} (no GPU here" in stdout


@pytest.mark.parametrize("argv, message", [
    (["data", "synth", "--task", "foo", "--out", "OUT"], "error: unknown task 'foo'"),
    (["data", "synth", "--task", "bbox", "--out", "FILE/sub"], "error: cannot write into"),
    (["data", "synth", "--task", "bbox", "--out", "OUT", "--min-size", "300", "--max-size", "200"],
     "error: image sizes must satisfy"),
    (["data", "video", "--task", "foo", "--out", "OUT/v.mp4"], "error: unknown task 'foo'"),
    (["data", "video", "--task", "bbox", "--out", "FILE/v.mp4"], "error: cannot write"),
    (["data", "video", "--task", "bbox", "--out", "OUT/v.mkv"], "error: video output"),
])
def test_bad_input_is_a_one_line_error(tmp_path, capsys, argv, message):
    (tmp_path / "FILE").write_text("a file, not a folder")
    argv = [a.replace("OUT", str(tmp_path / "out")).replace("FILE", str(tmp_path / "FILE")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_data_video_writes_moving_frames_and_no_partial_file(tmp_path, capsys, suffix):
    out = tmp_path / f"demo{suffix}"
    assert main(["data", "video", "--task", "pose" if suffix == ".avi" else "bbox", "--out", str(out),
                 "--frames", "12", "--size", "160", "120", "--seed", "1"]) == 0
    assert "next: `lsnet infer MODEL" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    video = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame.astype(np.int16))
    assert len(frames) == 12 and frames[0].shape == (120, 160, 3)
    assert np.abs(frames[0] - frames[-1]).mean() > 1  # the objects moved


def test_one_frame_is_one_frame(tmp_path, capsys):
    assert main(["data", "video", "--task", "bbox", "--out", str(tmp_path / "one.mp4"), "--frames", "1",
                 "--size", "64", "64"]) == 0
    assert "(1 frame, 64×64" in capsys.readouterr().out
