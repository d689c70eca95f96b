"""Models, videos and datasets on disk for the runtime tests.

`small_checkpoint` is a real LSNet (ResNet-18, 64 channels, 128×128 canvas), untrained: its
detections are whatever random weights give, which is enough to test plumbing, shapes and
timings. `small_onnx` is that checkpoint through the real `lsnet export onnx`.
"""
from pathlib import Path

import pytest
from runtime_helpers import CLASS_NAMES, small_description


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    import torch

    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    torch.manual_seed(0)
    model = LSNet(ModelConfig(task="bbox", num_classes=len(CLASS_NAMES), depth=18, fpn_channels=64,
                              head_channels=64, gn_groups=16, stacked_convs=2, tower="norm", frozen_stages=-1,
                              norm_eval=False))
    path = tmp_path_factory.mktemp("models") / "small.pt"
    save_checkpoint(path, model, small_description())
    return path


@pytest.fixture(scope="session")
def small_onnx(small_checkpoint) -> Path:
    """The real export (static 1×3×128×128), next to its checkpoint as bench expects."""
    from lsnet.export.onnx_export import export_onnx

    return export_onnx(small_checkpoint, small_checkpoint.with_name("small.onnx"))


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory) -> Path:
    from lsnet.data.video import write_video

    return write_video(tmp_path_factory.mktemp("video") / "shapes.mp4", "bbox", frames=12, size=(160, 120))

