"""Hostile input, data loss: nothing a user made is ever lost. An output that is an input is
refused (by name, symlink or hard link), a second writer of the same output is refused, no
incomplete file sits under a final name, and a broken dataset fails before training, not after.
Every case: exit code, one `error:` line, inputs byte-identical afterwards."""
import os
import shutil
from pathlib import Path

import cv2
import pytest
from hostile_helpers import assert_error, assert_nothing_left, edit_json, fingerprints, lsnet

from lsnet.files import claim_outputs, lock_path


# ---- an output that is an input ----------------------------------------------------------------

@pytest.mark.parametrize("case", ["image", "video", "model", "symlink", "hardlink", "sheet", "folder"])
def test_infer_refuses_to_write_over_its_input(case, onnx_copy, image, folder, synthetic_video, tmp_path, capsys):
    video = Path(shutil.copy(synthetic_video, tmp_path / "clip.mp4"))
    source, out = {"image": (image, image), "video": (video, video), "model": (image, onnx_copy),
                   "symlink": (video, tmp_path / "link.mp4"), "hardlink": (video, tmp_path / "hard.mp4"),
                   "sheet": (image, None), "folder": (folder, folder)}[case]
    if case == "symlink":
        out.symlink_to(video)
    if case == "hardlink":
        os.link(video, out)
    argv = ["infer", onnx_copy, source, "--quiet"] + (["--out", out] if out else ["--sheet", image])
    before = fingerprints(onnx_copy, image, video, folder)
    assert_error(lsnet(capsys, *argv), "would destroy the input")
    assert fingerprints(onnx_copy, image, video, folder) == before
    assert_nothing_left(tmp_path)


def test_infer_refuses_the_same_file_as_two_outputs(onnx_copy, synthetic_video, tmp_path, capsys):
    assert_error(lsnet(capsys, "infer", onnx_copy, synthetic_video, "--out", tmp_path / "a.mp4", "--sheet",
                       tmp_path / "a.mp4"), "named as two outputs")
    assert_nothing_left(tmp_path, "a.mp4")


@pytest.mark.parametrize("verb", ["export onnx", "export quantize", "export patch", "export engine",
                                  "export checkpoint", "import official"])
def test_export_and_import_refuse_to_write_over_their_input(verb, onnx_copy, checkpoint_copy, tmp_path, capsys):
    source = checkpoint_copy if verb in ("export onnx", "export checkpoint", "import official") else onnx_copy
    before = fingerprints(source)
    extra = ["--fp16"] if verb == "export quantize" else []
    assert_error(lsnet(capsys, *verb.split(), source, *extra, "--out", source), "would destroy the input")
    assert fingerprints(source) == before
    assert_nothing_left(tmp_path)


def test_export_triton_refuses_a_repository_whose_plan_is_the_engine(sidecar, tmp_path, capsys):
    engine = sidecar()
    plan = tmp_path / "repo" / "lsnet" / "1" / "model.plan"
    plan.parent.mkdir(parents=True)
    shutil.move(engine, plan)
    shutil.move(engine.with_name("model.engine.json"), plan.with_name("model.plan.json"))
    before = fingerprints(plan.parent)
    assert_error(lsnet(capsys, "export", "triton", plan, "--repo", tmp_path / "repo"), "would destroy the input")
    assert fingerprints(plan.parent) == before


@pytest.mark.parametrize("verb", ["eval-model", "eval-annotations", "bench", "compare"])
def test_a_json_report_never_replaces_an_input(verb, onnx_copy, checkpoint_copy, dataset, tmp_path, capsys):
    ann = dataset / "annotations" / "val.json"
    argv, victim = {
        "eval-model": (["eval", onnx_copy, "--data", dataset, "--json", onnx_copy], onnx_copy),
        "eval-annotations": (["eval", onnx_copy, "--data", dataset, "--json", ann], ann),
        "bench": (["bench", onnx_copy, "--checkpoint", checkpoint_copy, "--json", checkpoint_copy], checkpoint_copy),
        "compare": (["compare", checkpoint_copy, onnx_copy, "--json", onnx_copy], onnx_copy)}[verb]
    before = fingerprints(victim)
    assert_error(lsnet(capsys, *argv), "would destroy the input")
    assert fingerprints(victim) == before


def test_data_synth_refuses_a_file_as_its_folder(tmp_path, capsys):
    keep = tmp_path / "notes.txt"
    keep.write_text("my notes")
    assert_error(lsnet(capsys, "data", "synth", "--task", "bbox", "--out", keep, "--train", "1", "--val", "1"),
                 "it is a file")
    assert keep.read_text() == "my notes"


# ---- two writers of one output -------------------------------------------------------------------

def test_a_second_infer_writing_the_same_video_is_refused(onnx_copy, synthetic_video, tmp_path, capsys):
    out = tmp_path / "drawn.mp4"
    out.write_bytes(b"what the first writer has written so far")
    with claim_outputs([out]):  # the first `lsnet infer`, still running (another process in real life)
        assert_error(lsnet(capsys, "infer", onnx_copy, synthetic_video, "--out", out, "--quiet"),
                     "another process is writing", str(out))
        assert out.read_bytes() == b"what the first writer has written so far"
        assert not (tmp_path / "drawn.partial.mp4").exists()


@pytest.mark.parametrize("verb", ["export", "train", "data"])
def test_a_second_writer_is_refused_in_every_writing_verb(verb, checkpoint_copy, dataset, tiny_train, tmp_path, capsys):
    out, argv = {
        "export": (tmp_path / "m.onnx", ["export", "onnx", checkpoint_copy, "--out", tmp_path / "m.onnx"]),
        "train": (tmp_path / "run" / "last.pt", ["train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}"]),
        "data": (tmp_path / "v.mp4", ["data", "video", "--task", "bbox", "--out", tmp_path / "v.mp4"])}[verb]
    with claim_outputs([out]):
        assert_error(lsnet(capsys, *argv), "another process is writing")
    assert not out.exists()


def test_a_lock_left_by_a_killed_process_does_not_block_the_next_run(onnx_copy, image, tmp_path, capsys):
    out = tmp_path / "drawn.png"
    lock_path(out).write_text("")  # what a SIGKILLed run leaves: the file, without its flock
    outcome = lsnet(capsys, "infer", onnx_copy, image, "--out", out, "--quiet")
    assert outcome.code == 0, outcome.err
    assert cv2.imread(str(out)).shape == (60, 90, 3)
    assert_nothing_left(tmp_path)


def test_default_outputs_are_numbered_instead_of_overwritten(onnx_copy, image, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "runs" / "infer" / "photo.jpg"
    first.parent.mkdir(parents=True)
    first.write_bytes(b"an earlier result")
    outcome = lsnet(capsys, "infer", onnx_copy, image, "--quiet")
    assert outcome.code == 0 and "wrote runs/infer/photo2.jpg" in outcome.out
    assert first.read_bytes() == b"an earlier result"


# ---- a broken dataset fails before training, not after (a video that does not come out whole: test_faults.py)

@pytest.mark.parametrize("damage", ["missing image", "annotation without bbox", "degenerate box", "id 0"])
def test_training_refuses_a_broken_val_split_before_the_first_step(damage, dataset, tiny_train, tmp_path, capsys):
    ann = dataset / "annotations" / "val.json"
    if damage == "missing image":
        (dataset / "val" / "000001.jpg").unlink()
    else:
        edit_json(ann, lambda d: {"annotation without bbox": lambda a: a.pop("bbox"),
                                  "degenerate box": lambda a: a.update(bbox=[5, 5, 0, 9]),
                                  "id 0": lambda a: a.update(id=0)}[damage](d["annotations"][1]))
    before = fingerprints(dataset)
    assert_error(lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}"), "val")
    assert fingerprints(dataset) == before
    assert not (tmp_path / "run" / "last.pt").exists()


def test_a_final_evaluation_that_fails_still_leaves_the_trained_last_pt(dataset, tiny_train, tmp_path, capsys):
    (dataset / "val" / "000001.jpg").write_bytes(b"not a JPEG any more")  # passes the checks, fails to decode
    outcome = lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}", "max_iters=1")
    assert_error(outcome, "cannot read image", f"the trained model is saved in {tmp_path / 'run' / 'last.pt'}")
    from lsnet.model.checkpoint import read_checkpoint

    assert read_checkpoint(tmp_path / "run" / "last.pt")["train"]["iteration"] == 1
