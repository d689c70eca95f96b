"""R-50 bbox state-dict names and shapes equal docs/lsnet-official.md §10; an mmdet-format dict loads strictly."""
import pytest
import torch
import torchvision

from lsnet.errors import LSNetError
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet
from lsnet.model.official import from_official, load_official, to_official

# docs/lsnet-official.md §10, transcribed: bbox_head keys of the R-50 bbox model (i over the 3 tower layers)
HEAD = {
    "cls_GN.weight": [256], "cls_GN.bias": [256], "bbox_GN.weight": [256], "bbox_GN.bias": [256],
    "pts_cls_conv.weight": [256, 256, 3, 3],
    "cls_af_dcn_conv.0.weight": [256, 768, 1, 1], "cls_af_dcn_conv.0.bias": [256],
    "cls_feat_conv.weight": [256, 256, 3, 3], "cls_feat_conv.bias": [256],
    "pts_cls_out.weight": [80, 256, 1, 1], "pts_cls_out.bias": [80],
    "pts_bbox_init_conv.weight": [256, 256, 3, 3], "pts_bbox_init_conv.bias": [256],
    "pts_bbox_init_out.weight": [28, 256, 1, 1], "pts_bbox_init_out.bias": [28],
    "pts_bbox_refine_conv.weight": [256, 256, 3, 3],
    "bbox_af_dcn_conv.0.weight": [256, 768, 1, 1], "bbox_af_dcn_conv.0.bias": [256],
    "bbox_feat_conv.weight": [256, 256, 3, 3], "bbox_feat_conv.bias": [256],
    "pts_bbox_refine_out.weight": [20, 256, 1, 1], "pts_bbox_refine_out.bias": [20],
}
for tower in ("cls_convs", "bbox_convs"):
    for i in range(3):
        HEAD |= {f"{tower}.{i}.conv.weight": [256, 256, 3, 3], f"{tower}.{i}.conv.bias": [256],
                 f"{tower}.{i}.conv.conv_offset.weight": [27, 256, 3, 3], f"{tower}.{i}.conv.conv_offset.bias": [27],
                 f"{tower}.{i}.bn.weight": [256], f"{tower}.{i}.bn.bias": [256]}
NECK = {}
for i, c in enumerate((512, 1024, 2048)):
    NECK |= {f"lateral_convs.{i}.conv.weight": [256, c, 1, 1], f"lateral_convs.{i}.gn.weight": [256],
             f"lateral_convs.{i}.gn.bias": [256]}
for i, c in enumerate((256, 256, 256, 2048, 256)):
    NECK |= {f"fpn_convs.{i}.conv.weight": [256, c, 3, 3], f"fpn_convs.{i}.gn.weight": [256],
             f"fpn_convs.{i}.gn.bias": [256]}


def official_r50_bbox_shapes() -> dict:
    backbone = {k: list(v.shape) for k, v in torchvision.models.resnet50().state_dict().items()
                if not k.startswith("fc.")}
    return ({f"backbone.{k}": v for k, v in backbone.items()} | {f"neck.{k}": v for k, v in NECK.items()}
            | {f"bbox_head.{k}": v for k, v in HEAD.items()})


@pytest.fixture(scope="module")
def r50():
    return LSNet(ModelConfig(task="bbox", num_classes=80, depth=50, pdcn_offsets="cumulative"))


def test_state_dict_names_and_shapes_equal_spec_section_10(r50):
    ours = {k: list(v.shape) for k, v in to_official(r50.state_dict()).items()}
    assert ours == official_r50_bbox_shapes()


def test_mmdet_format_checkpoint_loads_strictly(r50):
    g = torch.Generator().manual_seed(0)
    official = {k: torch.randn(v, generator=g) if v else torch.tensor(3) for k, v in official_r50_bbox_shapes().items()}
    load_official(r50, {"meta": {}, "state_dict": official, "optimizer": {}})
    mine = r50.state_dict()
    for key, value in from_official(official).items():
        assert torch.equal(mine[key], value), key


def test_a_foreign_state_dict_is_rejected_with_a_clear_error(r50):
    with pytest.raises(LSNetError, match="unexpected keys"):
        load_official(r50, {"state_dict": {"roi_head.fc.weight": torch.zeros(1)}})
