"""R-50 state-dict names and shapes equal docs/lsnet-official.md §10 for the four task variants, and
those of the DCN backbones (R-50, X-101-64x4d with DCNv2 in stages 2–4) equal mmdet's; an
mmdet-format dict loads strictly, and only into a model with the official options."""
import pytest
import torch
from official_layout import official_r50_shapes, official_shapes, random_weights

from lsnet.errors import LSNetError
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet
from lsnet.model.official import from_official, load_official, to_official, weights_facts

# official task name → this model's options
VARIANTS = {"bbox": dict(task="bbox", num_classes=80), "segm": dict(task="segm", num_classes=80),
            "pose_bbox": dict(task="pose", pose_box="obj", num_classes=1),
            "pose_kbox": dict(task="pose", pose_box="kps", num_classes=1)}


def r50(variant: str, **options) -> LSNet:
    return LSNet(ModelConfig(**VARIANTS[variant], depth=50, pdcn_offsets="cumulative", **options))


@pytest.fixture(scope="module")
def r50_bbox():
    return r50("bbox")


@pytest.mark.parametrize("variant", VARIANTS)
def test_state_dict_names_and_shapes_equal_section_10(variant):
    ours = {k: list(v.shape) for k, v in to_official(r50(variant).state_dict()).items()}
    assert ours == official_r50_shapes(variant)


def official_r50_shapes_as_tensors(variant: str) -> dict:
    return {k: torch.empty(v) for k, v in official_r50_shapes(variant).items()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_weights_determine_task_backbone_classes_and_head(variant):
    facts = weights_facts(from_official(official_r50_shapes_as_tensors(variant)))
    options = VARIANTS[variant]
    assert facts == {"task": options["task"], "pose_box": options.get("pose_box", "obj"), "depth": 50, "groups": 1,
                     "width_per_group": 64, "dcn_stages": (), "num_classes": options["num_classes"], "tower": "dcn",
                     "stacked_convs": 3, "fpn_channels": 256, "head_channels": 256}


# torchvision model → (depth, groups, width_per_group): R-50, and the released 'dconv' configs' X-101-64x4d
DCN_BACKBONES = {"resnet50": (50, 1, 64), "resnext101_64x4d": (101, 64, 4)}


@pytest.mark.parametrize("resnet", DCN_BACKBONES)
def test_dcn_backbone_names_and_shapes_equal_mmdets_and_the_weights_give_the_dcn_stages(resnet):
    depth, groups, width = DCN_BACKBONES[resnet]
    with torch.device("meta"):  # shapes only
        model = LSNet(ModelConfig(**VARIANTS["pose_kbox"], depth=depth, groups=groups, width_per_group=width,
                                  dcn_stages=(2, 3, 4), pdcn_offsets="cumulative"))
    official = official_shapes("pose_kbox", resnet, dcn_stages=(2, 3, 4))
    assert {k: list(v.shape) for k, v in to_official(model.state_dict()).items()} == official
    facts = weights_facts(from_official({k: torch.empty(v, device="meta") for k, v in official.items()}))
    assert (facts["depth"], facts["groups"], facts["width_per_group"], facts["dcn_stages"]) == (depth, groups, width,
                                                                                                 (2, 3, 4))


def test_mmdet_format_checkpoint_loads_strictly(r50_bbox):
    official = random_weights(official_r50_shapes("bbox"))
    load_official(r50_bbox, {"meta": {}, "state_dict": official, "optimizer": {}})
    mine = r50_bbox.state_dict()
    for key, value in from_official(official).items():
        assert torch.equal(mine[key], value), key


def test_official_weights_into_a_model_with_other_options_are_refused_unless_allowed():
    model = LSNet(ModelConfig(task="pose", pose_box="kps", num_classes=1, depth=10, fpn_channels=16,
                              head_channels=16, gn_groups=4, stacked_convs=1, pose_taps="symmetric"))
    official = to_official(model.state_dict())
    with pytest.raises(LSNetError, match="pdcn_offsets 'exact' .official 'cumulative'., pose_taps 'symmetric'"):
        load_official(model, {"state_dict": official})
    load_official(model, {"state_dict": official}, allow_unofficial_options=True)


def test_a_foreign_state_dict_is_rejected_with_a_clear_error(r50_bbox):
    with pytest.raises(LSNetError, match="unexpected keys"):
        load_official(r50_bbox, {"state_dict": {"roi_head.fc.weight": torch.zeros(1)}})
