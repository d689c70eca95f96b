"""Shared fixtures: the plugin twins, tiny synthetic datasets, the tiny training configuration, the
small test model (`small_model`) as a checkpoint and as an ONNX export, a short synthetic video."""
import os
import shutil
from pathlib import Path

import pytest
from export_cache import cache_key
from small_model import build_small_checkpoint

# A model small enough to train a few iterations in seconds on a 2-core CPU.
TINY_TRAIN = ["depth=10", "fpn_channels=16", "head_channels=16", "gn_groups=4", "stacked_convs=1", "tower=norm",
              "imgsz=[64,64]", "batch=2", "workers=0", "eval_interval=0", "eval_images=2", "warmup_iters=2",
              "frozen_stages=-1", "norm_eval=false"]


@pytest.fixture(scope="session")
def twins():
    """The `lsnet_twins` module (CPU twins of the TensorRT plugins). Skips with the build command
    where it is not built — except under scripts/test.sh (LSNET_REQUIRE_TWINS=1), which builds it:
    there a missing module is a failure, not a skip."""
    from lsnet.errors import LSNetError
    from lsnet.plugins import load_twins

    try:
        return load_twins()
    except LSNetError as e:
        if os.environ.get("LSNET_REQUIRE_TWINS") == "1":
            pytest.fail(str(e))
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tiny_train():
    """`key=value` overrides for a tiny, fast training run."""
    return list(TINY_TRAIN)


@pytest.fixture(scope="session")
def tiny_bbox_data(tmp_path_factory):
    """8 train + 4 val synthetic shape images of 64–96 px (COCO layout)."""
    from lsnet.data.synth import write_dataset  # imported here: pycocotools is not needed by every test

    root = tmp_path_factory.mktemp("tiny_bbox")
    write_dataset(root, "bbox", seed=0, counts={"train": 8, "val": 4}, size_range=(64, 96), max_objects=3)
    return root


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    return build_small_checkpoint(tmp_path_factory.mktemp("models") / "small.pt")


@pytest.fixture(scope="session")
def small_onnx(small_checkpoint, request, tmp_path_factory) -> Path:
    """`small_checkpoint` through the real `export_onnx` (static 1×3×128×128), next to it as bench expects.

    The export is kept in pytest's cache between runs (`export_cache`); tests/small_model.py, which
    makes the checkpoint, is part of the key.
    """
    from lsnet.export.onnx_export import export_onnx

    pytest_cache = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`
    cache = Path(pytest_cache.mkdir("lsnet-runtime-small-onnx") if pytest_cache
                 else tmp_path_factory.mktemp("runtime-small-onnx"))
    cached = cache / f"{cache_key((Path(__file__).parent / 'small_model.py').read_bytes())}.onnx"
    if not cached.exists():
        for stale in cache.glob("*.onnx"):
            stale.unlink()
        export_onnx(small_checkpoint, cached)
    out = small_checkpoint.with_name("small.onnx")
    shutil.copyfile(cached, out)
    return out


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory) -> Path:
    from lsnet.data.video import write_video

    return write_video(tmp_path_factory.mktemp("video") / "shapes.mp4", "bbox", frames=12, size=(160, 120))
