"""`lsnet train --resume` after Ctrl-C (SIGINT) and after SIGKILL equals the run never stopped:
every weight and buffer (BatchNorm statistics and their counter num_batches_tracked), the optimizer
state, and `metrics.jsonl` line for line (no repeated iterations). The runs are real processes,
stopped by real signals at whatever step they are in; every part of every run is a process of its own
(started alike, so with the same thread count: this pytest process's may have been changed by
other tests, and a convolution's last bits depend on it)."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lsnet.model.checkpoint import read_checkpoint

# 8 images, batch 2: 4 iterations per epoch, last.pt at iterations 4 and 8.
RUN = ["epochs=2", "lr_steps=[1]"]


def logged_iterations(run: Path) -> int:
    log = run / "metrics.jsonl"
    return log.read_text().count('"iter"') if log.is_file() else 0


def start(tiny_train, data, run) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lsnet", "train", *tiny_train, f"data={data}", f"out={run}", *RUN],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def train(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "lsnet", "train", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def wait_until(condition, process, timeout=300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the run did not get there in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def uninterrupted(tiny_train, tiny_bbox_data, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    train(*tiny_train, f"data={tiny_bbox_data}", f"out={run}", *RUN)
    return run


def assert_same_run(resumed: Path, reference: Path) -> None:
    a, b = read_checkpoint(resumed / "last.pt"), read_checkpoint(reference / "last.pt")
    assert a["train"]["iteration"] == b["train"]["iteration"] == 8
    assert a["model"].keys() == b["model"].keys()
    assert any(k.endswith("num_batches_tracked") for k in a["model"])  # BatchNorm in train mode: counters move
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    optim_a, optim_b = a["train"]["optimizer"], b["train"]["optimizer"]
    assert optim_a["param_groups"] == optim_b["param_groups"]
    for index, state in optim_b["state"].items():
        for name, value in state.items():
            assert torch.equal(optim_a["state"][index][name], value), (index, name)
    assert (resumed / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()
    assert a["train"]["history"] == b["train"]["history"]


def test_resume_after_ctrl_c_equals_the_uninterrupted_run(uninterrupted, tiny_train, tiny_bbox_data, tmp_path):
    run = tmp_path / "run"
    process = start(tiny_train, tiny_bbox_data, run)
    wait_until(lambda: logged_iterations(run) >= 1, process)
    process.send_signal(signal.SIGINT)  # wherever the step is: the run stops after it
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-2000:]
    stopped_at = read_checkpoint(run / "last.pt")["train"]["iteration"]
    assert 1 <= stopped_at < 8 and f"saved {run / 'last.pt'} at iteration {stopped_at}" in out
    assert err.rstrip().endswith("error: interrupted") and "Traceback" not in err
    assert logged_iterations(run) == stopped_at
    train(f"out={run}", "--resume")
    assert_same_run(run, uninterrupted)


def test_resume_after_sigkill_equals_the_uninterrupted_run(uninterrupted, tiny_train, tiny_bbox_data, tmp_path):
    run = tmp_path / "run"
    process = start(tiny_train, tiny_bbox_data, run)
    wait_until(lambda: logged_iterations(run) >= 6, process)  # past the first last.pt, inside the second epoch
    process.kill()
    process.communicate(timeout=60)
    saved = read_checkpoint(run / "last.pt")["train"]["iteration"]
    assert logged_iterations(run) > saved  # the log holds steps the checkpoint does not: a resume must drop them
    train(f"out={run}", "--resume")  # the killed process's lock does not outlive it
    assert_same_run(run, uninterrupted)


def test_best_pt_holds_the_best_weights_only_and_loads_like_any_checkpoint(uninterrupted):
    from lsnet.artifacts import read_artifact

    best, last = read_checkpoint(uninterrupted / "best.pt"), read_checkpoint(uninterrupted / "last.pt")
    assert "train" not in best and "train" in last
    assert (uninterrupted / "best.pt").stat().st_size < (uninterrupted / "last.pt").stat().st_size
    assert best["model"].keys() == last["model"].keys()  # the final evaluation was the best one: the same weights
    assert all(torch.equal(best["model"][k], last["model"][k]) for k in best["model"])
    assert read_artifact(uninterrupted / "best.pt").description.class_names == ["ellipse", "triangle", "rectangle",
                                                                                 "star", "cross"]
