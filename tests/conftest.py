"""Shared fixtures: the plugin twins, tiny synthetic datasets, the tiny training configuration."""
import os

import pytest

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
