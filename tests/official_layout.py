"""Official LSNet checkpoints as the official code writes them, built here: the state-dict names
and shapes of the R-50 models (docs/lsnet-official.md §10, transcribed for the four task variants)
and of the 'dconv' backbones (mmdet's DCNv2 in the 3×3 convs of stages 2–4), random weights,
mmdet's `{'meta', 'state_dict', 'optimizer'}` layout; and configs in the layout
of the official ones (a `_base_` dataset file, `dict(...)` calls, shared names)."""
import re
from pathlib import Path

import torch
import torchvision

# docs/lsnet-official.md §10: the classification branch and one landmark branch, R-50, DCN towers
# (i over the 3 tower layers). A branch's init output: 4·(V+1) Softplus channels (+ 8 free taps for
# bbox); its refine output 4·(V+1).
BRANCH_OUTPUTS = {"bbox": (28, 20), "segm": (148, 148), "pose": (72, 72)}
VARIANTS = {"bbox": (["bbox"], 80), "segm": (["segm"], 80), "pose_bbox": (["bbox", "pose"], 1),
            "pose_kbox": (["pose"], 1)}


def _tower(name: str) -> dict:
    out = {}
    for i in range(3):
        out |= {f"{name}_convs.{i}.conv.weight": [256, 256, 3, 3], f"{name}_convs.{i}.conv.bias": [256],
                f"{name}_convs.{i}.conv.conv_offset.weight": [27, 256, 3, 3],
                f"{name}_convs.{i}.conv.conv_offset.bias": [27],
                f"{name}_convs.{i}.bn.weight": [256], f"{name}_convs.{i}.bn.bias": [256]}
    return out


def _fusion(name: str, pdcn: str) -> dict:
    return {f"{name}_GN.weight": [256], f"{name}_GN.bias": [256], f"{pdcn}.weight": [256, 256, 3, 3],
            f"{name}_af_dcn_conv.0.weight": [256, 768, 1, 1], f"{name}_af_dcn_conv.0.bias": [256],
            f"{name}_feat_conv.weight": [256, 256, 3, 3], f"{name}_feat_conv.bias": [256]}


def head_shapes(variant: str) -> dict:
    branches, num_classes = VARIANTS[variant]
    head = _tower("cls") | _fusion("cls", "pts_cls_conv") | {"pts_cls_out.weight": [num_classes, 256, 1, 1],
                                                              "pts_cls_out.bias": [num_classes]}
    for name in branches:
        init, refine = BRANCH_OUTPUTS[name]
        head |= _tower(name) | _fusion(name, f"pts_{name}_refine_conv") | {
            f"pts_{name}_init_conv.weight": [256, 256, 3, 3], f"pts_{name}_init_conv.bias": [256],
            f"pts_{name}_init_out.weight": [init, 256, 1, 1], f"pts_{name}_init_out.bias": [init],
            f"pts_{name}_refine_out.weight": [refine, 256, 1, 1], f"pts_{name}_refine_out.bias": [refine]}
    return head


def neck_shapes() -> dict:
    neck = {}
    for i, c in enumerate((512, 1024, 2048)):
        neck |= {f"lateral_convs.{i}.conv.weight": [256, c, 1, 1], f"lateral_convs.{i}.gn.weight": [256],
                 f"lateral_convs.{i}.gn.bias": [256]}
    for i, c in enumerate((256, 256, 256, 2048, 256)):  # P3–P5, then P6 from C5 and P7 from P6
        neck |= {f"fpn_convs.{i}.conv.weight": [256, c, 3, 3], f"fpn_convs.{i}.gn.weight": [256],
                 f"fpn_convs.{i}.gn.bias": [256]}
    return neck


def backbone_dcn_shapes(backbone: dict, stages) -> dict:
    """The keys mmdet's ResNet with `dcn=dict(type='DCNv2', deformable_groups=1)` adds for
    `stage_with_dcn`: each block's 3×3 `conv2` [w, w/groups, 3, 3] of those stages is an mmcv
    `ModulatedDeformConvPack` (same weight, no bias) with a `conv_offset` = Conv2d(w, 1·3·3·3, 3), biased."""
    out = {}
    for key, shape in backbone.items():
        if (m := re.fullmatch(r"(layer(\d)\.\d+\.conv2\.)weight", key)) and int(m[2]) in stages:
            out |= {f"{m[1]}conv_offset.weight": [27, shape[0], 3, 3], f"{m[1]}conv_offset.bias": [27]}
    return out


def official_shapes(variant: str, resnet: str = "resnet50", dcn_stages=()) -> dict:
    """The official checkpoint's names and shapes: torchvision's `resnet` (its shapes only, built on
    the meta device) as the backbone, DCNv2 in `dcn_stages`."""
    with torch.device("meta"):
        backbone = {k: list(v.shape) for k, v in torchvision.models.get_model(resnet).state_dict().items()
                    if not k.startswith("fc.")}
    backbone |= backbone_dcn_shapes(backbone, dcn_stages)
    return ({f"backbone.{k}": v for k, v in backbone.items()} | {f"neck.{k}": v for k, v in neck_shapes().items()}
            | {f"bbox_head.{k}": v for k, v in head_shapes(variant).items()})


def official_r50_shapes(variant: str, dcn_stages=()) -> dict:
    return official_shapes(variant, "resnet50", dcn_stages)


def random_weights(shapes: dict, seed: int = 0) -> dict:
    """Weights that give a sane forward pass: He-scaled convs, positive BN variances, norm scales
    near 1; the classifier biased so that many locations pass the score threshold, and the stage-1
    vectors spread (bias std 1), so the DCN offsets — and the pyramid-DCN offset mode — matter. The
    backbone DCNs' offsets come out at up to about ±1.5 px (He-scaled on features of magnitude 10–100,
    they would reach tens of pixels and sample mostly outside the map)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            out[key] = 0.5 + torch.rand(shape, generator=g)
        elif len(shape) > 1:
            fan_in = shape[1] * shape[2] * shape[3]
            out[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif key.endswith("weight") and ("bn" in key or "GN" in key or "gn" in key):
            out[key] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            out[key] = 0.1 * torch.randn(shape, generator=g)
    for key in out:
        if key.startswith("backbone.") and key.endswith("conv_offset.weight"):
            out[key] *= 0.1
        elif key.endswith("pts_cls_out.bias"):
            out[key] = torch.full(out[key].shape, -3.0)
        elif "_init_out.bias" in key or "_refine_out.bias" in key:
            out[key] = torch.randn(out[key].shape, generator=g)
    return out


def write_checkpoint(path: Path, state: dict, meta: dict | None = None) -> Path:
    torch.save({"meta": {"mmdet_version": "2.2.0", "epoch": 12, **(meta or {})}, "state_dict": state,
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.0001, "momentum": 0.9}]}}, path)
    return path


# A dataset base file and a model file, in the official configs' layout (a `_base_` list, names
# shared between dicts, `**` of a dict, string concatenation), for one LSHead task.
DATASET_BASE = """
dataset_type = '{dataset}'
data_root = 'data/coco/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(1333, 800), flip=False,
         transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                     dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])])]
data = dict(samples_per_gpu=2, test=dict(type=dataset_type, ann_file=data_root + 'annotations/val.json',
                                         pipeline=test_pipeline))
"""
MODEL = """
_base_ = ['./dataset.py']
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='LSDetector',
    backbone=dict(type='ResNet', depth={depth}, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'{dcn}),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, start_level=1,
              add_extra_convs='on_input', num_outs=5, norm_cfg=norm_cfg),
    bbox_head=dict(type='LSHead', task='{task}', num_vectors={vectors}, num_classes={classes}, in_channels=256,
                   feat_channels=256, point_feat_channels=256, stacked_convs=3, num_kernel_points=9,
                   gradient_mul=0.1, point_strides=[8, 16, 32, 64, 128], point_base_scale=4, norm_cfg=norm_cfg,
                   conv_module_type='dcn'))
train_cfg = dict(init=dict(assigner=dict(type='CentroidAssigner', scale=4, pos_num=1, iou_type='center')),
                 refine=dict(assigner=dict(type='ATSSAssigner', topk=9)))
test_cfg = dict(nms_pre={nms_pre}, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_thr=0.6),
                max_per_img={max_per_img})
"""


# The backbone keys of the released 'dconv c3-c5' configs.
DCN_C3_C5 = ("dcn=dict(type='DCNv2', deformable_groups=1, fallback_on_stride=False), "
             "stage_with_dcn=(False, True, True, True)")


def write_config(folder: Path, variant: str, depth: int = 50, dcn: bool = False) -> Path:
    """An official-layout config of `variant` (test settings as the official configs have them);
    `dcn`: DCNv2 in the backbone's stages 2–4, as the 'dconv c3-c5' configs."""
    pose = variant.startswith("pose")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.py").write_text(DATASET_BASE.format(dataset="CocoPoseDataset" if pose else "CocoDataset"))
    vectors = {"bbox": 4, "segm": 36}.get(variant, 17)
    path = folder / f"lsnet_{variant}_r{depth}.py"
    path.write_text(MODEL.format(depth=depth, dcn=f", {DCN_C3_C5}" if dcn else "",
                                 task=variant, vectors=vectors, classes=VARIANTS[variant][1],
                                 nms_pre=100 if pose else 1000, max_per_img=20 if pose else 100))
    return path
