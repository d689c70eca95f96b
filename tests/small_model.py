"""The small test model shared by the runtime and hostile-input tests: a real LSNet (ResNet-10,
16 channels, 128×128 canvas), untrained — its detections are whatever random weights give (scores
about 0.01, above its 0.005 threshold), which is enough to test plumbing, shapes, timings, errors
and the agreement of backends. One export of it serves every folder (`small_onnx` in
tests/conftest.py)."""
from pathlib import Path

from lsnet.description import ModelDescription

CLASS_NAMES = ["ellipse", "triangle", "rectangle", "star", "cross"]
INPUT_SIZE = (128, 128)


def small_description(**changes) -> ModelDescription:
    return ModelDescription(**{"task": "bbox", "class_names": CLASS_NAMES, "input_size": INPUT_SIZE, **changes})


def build_small_checkpoint(path: Path) -> Path:
    import torch

    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    torch.manual_seed(0)
    model = LSNet(ModelConfig(task="bbox", num_classes=len(CLASS_NAMES), depth=10, fpn_channels=16,
                              head_channels=16, gn_groups=4, stacked_convs=1, tower="norm", frozen_stages=-1,
                              norm_eval=False))
    # A score threshold below the classifier's prior (0.01), so that the random weights give detections to compare.
    save_checkpoint(path, model, small_description(score_threshold=0.005))
    return path
