"""Inputs of the hostile-input tests: small real files (an image, a folder, models, datasets,
sidecars) to break one way per case, and small file systems that are full or read-only.

The models are the shared small model (`small_checkpoint`, `small_onnx` in tests/conftest.py);
nothing here exports another network.
"""
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from lsnet.runtime.engine_metadata import sha256_file


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (60, 90, 3), dtype=np.uint8))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "photos"
    path.mkdir()
    for i in range(3):
        cv2.imwrite(str(path / f"{i}.png"), np.full((48, 64, 3), 60 * i, np.uint8))
    return path


@pytest.fixture
def onnx_copy(small_onnx, tmp_path) -> Path:
    """The small model's ONNX in this test's folder, to break or to write next to."""
    return Path(shutil.copy(small_onnx, tmp_path / "model.onnx"))


@pytest.fixture
def checkpoint_copy(small_checkpoint, tmp_path) -> Path:
    return Path(shutil.copy(small_checkpoint, tmp_path / "model.pt"))


@pytest.fixture
def dataset(tiny_bbox_data, tmp_path) -> Path:
    """A writable copy of the tiny bbox dataset (8 train, 4 val images), to break one way per case."""
    return Path(shutil.copytree(tiny_bbox_data, tmp_path / "data"))


@pytest.fixture
def sidecar(tmp_path):
    """sidecar(change) → an engine (arbitrary bytes) whose sidecar is a valid one after `change(dict)`."""
    from small_model import small_description

    def make(change=lambda d: None) -> Path:
        engine = tmp_path / "model.engine"
        engine.write_bytes(b"not a TensorRT engine")
        profile = {"input": "images", "min": [1, 3, 128, 128], "opt": [1, 3, 128, 128], "max": [1, 3, 128, 128]}
        outputs = [("num_dets", "int32", [1, 1]), ("boxes", "float32", [1, 100, 4]), ("scores", "float32", [1, 100]),
                   ("labels", "int32", [1, 100]), ("landmarks", "float32", [1, 100, 4, 2])]
        data = {"format": "lsnet-engine", "format_version": 1, "description": small_description().to_dict(),
                "tensorrt_version": "10.3.0.30", "gpu_name": "Orin", "compute_capability": [8, 7],
                "engine_sha256": sha256_file(engine), "inputs": [{"name": "images", "dtype": "float32",
                                                                  "shape": [1, 3, 128, 128]}],
                "outputs": [{"name": n, "dtype": t, "shape": s} for n, t, s in outputs],
                "build": {"profiles": [profile], "precision": "fp16"}, "rebuild_command": "lsnet export engine m.pt",
                "plugin_library": None, "plugin_sha256": None, "lsnet_version": "0.1.0", "export": {}}
        change(data)
        (tmp_path / "model.engine.json").write_text(json.dumps(data))
        return engine

    return make


def _mount(point: Path, options: str) -> str | None:
    """Mounts a tmpfs at `point`; the reason it cannot, or None."""
    point.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, f"lsnet-test-{uuid.uuid4().hex[:8]}",
                               str(point)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run mount ({e})"
    if done.returncode:
        return f"mount -t tmpfs is not allowed here ({done.stderr.strip() or done.returncode}); run as root"
    return None


def _fill(point: Path, free: int) -> None:
    """Writes a filler file until the file system is full, then frees `free` bytes of it."""
    with open(point / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:  # ENOSPC: full
            pass
        f.truncate(max(0, f.tell() - free))


@pytest.fixture
def disk(tmp_path):
    """disk(kind, free=0) → a folder on a real small file system: "full" (a 1 MB tmpfs filled up but
    `free` bytes: creating an empty file still works, writing more data fails with ENOSPC) or
    "readonly" (a tmpfs mounted read-only). Skips, with the reason, where this process may not mount
    (it needs root)."""
    mounted = []

    def make(kind: str, free: int = 0) -> Path:
        point = tmp_path / f"{kind}-disk"
        reason = _mount(point, "size=1m,mode=0777" + (",ro" if kind == "readonly" else ""))
        if reason:
            pytest.skip(reason)
        mounted.append(point)
        if kind == "full":
            _fill(point, free)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)
