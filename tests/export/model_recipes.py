"""The untrained test models: recipes and how a checkpoint is made from one.

Each model is an untrained LSNet (ResNet-10, 16-channel FPN and head, DCN towers, 128×160
canvas, five levels) whose classification bias is raised so that hundreds of candidates pass
the score threshold and NMS and `max_detections` both matter.
"""
from pathlib import Path

# name → model config, model description and export options that differ from the defaults below.
# segm uses the official cumulative offset scaling, pose_kps the symmetric DCN taps; a larger
# max_detections leaves padded slots.
RECIPES = {
    "bbox": {"config": {"task": "bbox"}, "export": {"batch": 2}},
    "segm_cumulative": {"config": {"task": "segm", "pdcn_offsets": "cumulative"}, "export": {"batch": 2},
                        "description": {"max_detections": 1000}},
    "pose_obj": {"config": {"task": "pose", "pose_box": "obj", "num_classes": 1}, "export": {"batch": 2},
                 "description": {"box_source": "side_midpoints"}},
    "pose_kps": {"config": {"task": "pose", "pose_box": "kps", "pose_taps": "symmetric", "num_classes": 1},
                 "export": {"batch": 2},
                 "description": {"max_detections": 1000}},
    "bbox_dynamic": {"config": {"task": "bbox"}, "export": {"dynamic": True}},
    "bbox_unsimplified": {"config": {"task": "bbox"}, "export": {"simplify_graph": False}},
    # `lsnet export onnx --frames --dynamic`: the network exported with a dynamic batch and a static canvas.
    "bbox_frames_dynamic": {"config": {"task": "bbox"}, "export": {"frames": True, "dynamic": True}},
}
TASK_MODELS = ("bbox", "segm_cumulative", "pose_obj", "pose_kps")


def build_checkpoint(path: Path, recipe: dict) -> Path:
    import torch

    from lsnet.description import ModelDescription
    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    torch.manual_seed(0)
    config = ModelConfig(**{"num_classes": 3, "depth": 10, "fpn_channels": 16, "head_channels": 16, "gn_groups": 4,
                            "stacked_convs": 1, "tower": "dcn", "frozen_stages": -1, "norm_eval": False,
                            **recipe["config"]})
    model = LSNet(config).eval()
    torch.nn.init.constant_(model.head.pts_cls_out.bias, -1.0)  # sigmoid 0.27: many candidates
    # Untrained vectors are all ≈ Softplus(0), which makes the t/b and l/r comparisons decoding them
    # float-rounding coin flips between backends: spread them. The box branch's extreme points (top,
    # left, bottom, right; vectors [t, b, l, r]) get their outward component largest, so that boxes
    # are not inside out — a trained model's never are, and ONNX Runtime's NMS orders the corners
    # of an inside-out box while torchvision's does not.
    for branch in model.head.branches:
        for stage in ("init", "refine"):
            bias = getattr(model.head, f"pts_{branch.name}_{stage}_out").bias
            torch.nn.init.normal_(bias, std=1.0)
            if branch.name == "bbox":
                bias.data[[0, 4 + 2, 8 + 1, 12 + 3]] += 3.0
    description = ModelDescription(**{"task": config.task, "input_size": (128, 160),
                                      "class_names": [f"class{i}" for i in range(config.num_classes)],
                                      **recipe.get("description", {})})
    save_checkpoint(path, model, description)
    return path
