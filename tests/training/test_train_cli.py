"""`lsnet train`: exact resume, DDP equivalence, atomic checkpoints, clear errors (issue #2)."""
import os
import subprocess
import sys

import pytest
import torch

from lsnet.cli import main
from lsnet.model.checkpoint import read_checkpoint


@pytest.fixture
def train(tiny_train):
    def run(data, out, *extra):
        assert main(["train", *tiny_train, f"data={data}", f"out={out}", *extra]) == 0
    return run


def weights(path):
    return read_checkpoint(path)["model"]


def assert_same_weights(a, b, **tol):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        if tol:
            torch.testing.assert_close(wa[key], wb[key], **tol, msg=key)
        else:
            assert torch.equal(wa[key], wb[key]), key


def test_resume_continues_exactly_as_an_uninterrupted_run(train, tiny_bbox_data, tmp_path):
    # 8 images, batch 2: 4 iterations per epoch; stop at 3 (mid-epoch) and run on to 6
    train(tiny_bbox_data, tmp_path / "whole", "epochs=2", "max_iters=6", "lr_steps=[1]")
    train(tiny_bbox_data, tmp_path / "split", "epochs=2", "max_iters=3", "lr_steps=[1]")
    assert read_checkpoint(tmp_path / "split" / "last.pt")["train"]["iteration"] == 3
    assert main(["train", f"out={tmp_path / 'split'}", "max_iters=6", "--resume"]) == 0
    assert_same_weights(tmp_path / "whole" / "last.pt", tmp_path / "split" / "last.pt")
    for name in ("config.yaml", "metrics.jsonl", "curves.png", "best.pt"):
        assert (tmp_path / "split" / name).is_file()


def test_two_torchrun_processes_match_one_process_with_the_same_global_batch(train, tiny_train, tiny_bbox_data, tmp_path):
    # BatchNorm in eval mode: per-process batch statistics would otherwise differ by design
    common = ["epochs=1", "max_iters=2", "batch=4", "norm_eval=true", "frozen_stages=1"]
    train(tiny_bbox_data, tmp_path / "one", *common)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
           "-m", "lsnet", "train", *tiny_train, f"data={tiny_bbox_data}", f"out={tmp_path / 'two'}", *common]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_weights(tmp_path / "one" / "last.pt", tmp_path / "two" / "last.pt", rtol=1e-4, atol=1e-6)


def test_unknown_config_key_is_one_line_error_listing_valid_keys(capsys):
    assert main(["train", "epoch=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown config key epoch") and "epochs" in err and "\n" not in err


def test_the_default_r50_config_on_a_cpu_warns_and_names_a_config_that_trains_here(tiny_bbox_data, tmp_path, capsys):
    # The warning comes once the data is read, before any model work: a missing load_from stops the run there.
    assert main(["train", f"data={tiny_bbox_data}", "batch=2", "device=cpu", f"out={tmp_path}",
                 "load_from=missing.pt"]) == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning: training a ResNet-50 at 800×1333 on the CPU")
    assert warning.endswith(f"lsnet train configs/synth_bbox_r10.yaml data={tiny_bbox_data}")
    assert error.startswith("error: ") and "missing.pt" in error


def test_dataset_folder_without_annotations_is_an_error(tiny_train, tmp_path, capsys):
    (tmp_path / "train").mkdir()
    assert main(["train", *tiny_train, f"data={tmp_path}", f"out={tmp_path / 'run'}"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(train, tiny_bbox_data, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_bbox_data, out, "epochs=1")
    before = (out / "last.pt").read_bytes()
    assert main(["train", f"out={out}", "epochs=2", "lr=1e30", "grad_clip=0", "warmup_iters=0", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "error: the loss became" in err and "last.pt" in err
    assert (out / "last.pt").read_bytes() == before


def test_a_second_run_into_the_same_folder_refuses_instead_of_overwriting(train, tiny_train, tiny_bbox_data, tmp_path,
                                                                              capsys):
    train(tiny_bbox_data, tmp_path / "run", "max_iters=1")
    before = (tmp_path / "run" / "last.pt").read_bytes()
    assert main(["train", *tiny_train, f"data={tiny_bbox_data}", f"out={tmp_path / 'run'}"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_load_from_starts_a_run_from_another_models_weights(train, tiny_train, tiny_bbox_data, tmp_path, capsys):
    train(tiny_bbox_data, tmp_path / "first", "max_iters=1")
    train(tiny_bbox_data, tmp_path / "second", "max_iters=1", f"load_from={tmp_path / 'first' / 'last.pt'}")
    assert "weights copied, 0 left at their init" in capsys.readouterr().out
    assert main(["train", *tiny_train, f"data={tiny_bbox_data}", f"out={tmp_path / 'third'}",
                 "load_from=missing.pt"]) == 2
    assert capsys.readouterr().err.startswith("error: checkpoint missing.pt not found")
