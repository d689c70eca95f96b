"""Hostile environment, for real: every command that writes, onto a full disk and onto a read-only
one (small tmpfs mounts; skipped with the reason where this process may not mount). Each case:
exit 2, one `error:` line naming the file and the system's reason, nothing incomplete under a
final name, no hidden temporary or lock file left, and a video's partial file where the error
says it is."""
from pathlib import Path

import pytest
from hostile_helpers import assert_error, assert_nothing_left, lsnet

REASON = {"full": "No space left on device", "readonly": "Read-only file system"}


@pytest.fixture
def writing_command(onnx_copy, checkpoint_copy, image, folder, synthetic_video, dataset, sidecar, tiny_train):
    """writing_command(verb, disk) → (argv writing into `disk`, the final names it must not leave there)."""

    def make(verb: str, disk: Path) -> tuple[list, list[str]]:
        commands = {
            "infer video": (["infer", onnx_copy, synthetic_video, "--out", disk / "drawn.mp4", "--quiet"],
                            ["drawn.mp4"]),
            "infer folder": (["infer", onnx_copy, folder, "--out", disk / "drawn", "--quiet"], ["drawn/0.png"]),
            "infer image": (["infer", onnx_copy, image, "--out", disk / "drawn.png", "--quiet"], ["drawn.png"]),
            "eval": (["eval", onnx_copy, "--data", dataset, "--max-images", "1", "--json", disk / "ap.json"],
                     ["ap.json"]),
            "bench": (["bench", onnx_copy, "--backends", "onnxruntime", "--image", image, "--runs", "1", "--warmup",
                       "0", "--json", disk / "bench.json"], ["bench.json"]),
            "compare": (["compare", checkpoint_copy, onnx_copy, "--count", "1", "--json", disk / "diff.json"],
                        ["diff.json"]),
            "export onnx": (["export", "onnx", checkpoint_copy, "--out", disk / "m.onnx"], ["m.onnx"]),
            "export patch": (["export", "patch", onnx_copy, "--out", disk / "m.trt.onnx"], ["m.trt.onnx"]),
            "export engine": (["export", "engine", onnx_copy, "--out", disk / "m.engine"], ["m.engine"]),
            "export checkpoint": (["export", "checkpoint", checkpoint_copy, "--out", disk / "deploy.pt"],
                                  ["deploy.pt"]),
            "export triton": (["export", "triton", sidecar(), "--repo", disk / "repo"],
                              ["repo/lsnet/1/model.plan", "repo/lsnet/config.pbtxt"]),
            "data synth": (["data", "synth", "--task", "bbox", "--out", disk / "shapes", "--train", "1", "--val", "1",
                            "--min-size", "64", "--max-size", "64"],
                           ["shapes/annotations/train.json", "shapes/train/000000.jpg"]),
            "data video": (["data", "video", "--task", "bbox", "--out", disk / "clip.mp4", "--frames", "5", "--size",
                            "64", "64"], ["clip.mp4"]),
            "train": (["train", *tiny_train, f"data={dataset}", f"out={disk / 'run'}", "max_iters=1"],
                      ["run/last.pt", "run/config.yaml"]),
            "checks": (["checks", "--json", disk / "checks.json"], ["checks.json"]),
        }
        return commands[verb]

    return make


READ_ONLY_VERBS = ["infer video", "infer folder", "infer image", "eval", "bench", "compare", "export onnx",
                   "export patch", "export engine", "export checkpoint", "export triton", "data synth", "data video",
                   "train", "checks"]
# On a full disk, `export onnx` would first spend a minute exporting (its write path is the one `export
# patch` and `export checkpoint` share, lsnet.files.atomic_write, tested there), and `export engine`
# needs TensorRT to get as far as writing.
FULL_DISK_VERBS = [verb for verb in READ_ONLY_VERBS if verb not in ("export onnx", "export engine")]


@pytest.mark.parametrize("verb", FULL_DISK_VERBS)
def test_a_full_disk_is_one_line_and_leaves_nothing_incomplete(verb, disk, writing_command, capsys):
    full = disk("full")
    argv, finals = writing_command(verb, full)
    if verb in ("infer video", "data video"):  # OpenCV cannot even write the video's header
        assert_error(lsnet(capsys, *argv), "cannot write video", "0 B free")
    else:
        assert_error(lsnet(capsys, *argv), "cannot write", REASON["full"])
    assert_nothing_left(full, *finals)


@pytest.mark.parametrize("verb", ["infer video", "data video"])
def test_a_video_that_fills_the_disk_is_kept_partial_where_the_error_says(verb, disk, onnx_copy, tmp_path, capsys):
    """Room for the header and some frames, not for the end of the file: OpenCV's writer says nothing;
    reading the frame count back catches it."""
    from lsnet.data.video import write_video

    nearly_full = disk("full", free=16384)  # the 24 frames take about 100 kB
    out = nearly_full / "drawn.mp4"
    argv = {"infer video": ["infer", onnx_copy, write_video(tmp_path / "in.mp4", "bbox", 24, size=(320, 240)),
                            "--out", out, "--quiet"],
            "data video": ["data", "video", "--task", "bbox", "--out", out, "--frames", "24", "--size", "320", "240"]}
    assert_error(lsnet(capsys, *argv[verb]), "did not come out whole", "of 24 frames readable",
                 f"kept as {nearly_full / 'drawn.partial.mp4'}")
    assert (nearly_full / "drawn.partial.mp4").is_file()
    assert_nothing_left(nearly_full, "drawn.mp4")


@pytest.mark.parametrize("verb", READ_ONLY_VERBS)
def test_a_read_only_disk_is_one_line_before_any_work(verb, disk, writing_command, capsys):
    readonly = disk("readonly")
    argv, _ = writing_command(verb, readonly)
    assert_error(lsnet(capsys, *argv), "cannot write", REASON["readonly"])
    assert not any(readonly.iterdir())


def test_a_folder_that_cannot_be_created_is_one_line(onnx_copy, image, tmp_path, capsys):
    (tmp_path / "file").write_text("a file where a folder should be")
    assert_error(lsnet(capsys, "infer", onnx_copy, image, "--out", tmp_path / "file" / "drawn.png"), "it is a file")
