"""`lsnet.model.backbone.ResNetBackbone` with DCN stages (docs/lsnet-official.md §1): the 3×3 conv of
every block of those stages is a DCNv2 under mmdet's names; torchvision ImageNet weights (no
offsets) load into it; freezing covers the offsets; `dcn_stages` is checked where configs enter."""
import pytest
import torch

from lsnet.errors import LSNetError
from lsnet.model.backbone import ResNetBackbone
from lsnet.model.config import ModelConfig
from lsnet.model.dcn import ModulatedDeformConv2d
from lsnet.training import config as training_config


@pytest.mark.parametrize("depth", [10, 50])  # basic blocks (conv2 stride 1) and bottlenecks (stride on conv2)
def test_dcn_stages_turn_the_3x3_conv_of_every_block_of_those_stages_into_a_dcnv2(depth):
    with torch.device("meta"):
        plain = ResNetBackbone(depth)
        dcn = ResNetBackbone(depth, dcn_stages=(2, 4))
    for stage in range(1, 5):
        for block, plain_block in zip(getattr(dcn, f"layer{stage}"), getattr(plain, f"layer{stage}")):
            assert isinstance(block.conv2, ModulatedDeformConv2d) == (stage in (2, 4))
            assert block.conv2.weight.shape == plain_block.conv2.weight.shape
            if stage in (2, 4):
                assert block.conv2.stride == plain_block.conv2.stride[0] and block.conv2.bias is None
    added = set(dcn.state_dict()) - set(plain.state_dict())
    assert added and all(".conv2.conv_offset." in k and k.split(".")[0] in ("layer2", "layer4") for k in added)


def test_imagenet_weights_load_into_a_dcn_backbone_whose_offsets_stay_zero(tmp_path):
    torch.manual_seed(0)
    imagenet = ResNetBackbone(10, pretrained="").state_dict() | {"fc.weight": torch.zeros(1000, 512)}
    torch.save(imagenet, tmp_path / "resnet10.pth")
    dcn = ResNetBackbone(10, pretrained=str(tmp_path / "resnet10.pth"), dcn_stages=(2, 3, 4))
    state = dcn.state_dict()
    assert all(torch.equal(state[k], v) for k, v in imagenet.items() if not k.startswith("fc."))
    assert not any(v.any() for k, v in state.items() if ".conv_offset." in k)
    del imagenet["layer3.0.conv2.weight"]
    torch.save(imagenet, tmp_path / "damaged.pth")
    with pytest.raises(LSNetError, match="does not match depth/groups: 1 missing, 0 unexpected"):
        ResNetBackbone(10, pretrained=str(tmp_path / "damaged.pth"), dcn_stages=(2, 3, 4))


def test_frozen_stages_freeze_their_offsets_too():
    backbone = ResNetBackbone(10, frozen_stages=2, dcn_stages=(2, 3)).train()
    assert not any(p.requires_grad for p in backbone.layer2.parameters())
    assert all(p.requires_grad for p in backbone.layer3[0].conv2.conv_offset.parameters())


@pytest.mark.parametrize("value", [[5], [2, 2], [0], "2,3", [2.0]])
def test_a_bad_dcn_stages_is_one_line_in_the_model_and_the_training_config(value):
    with pytest.raises(LSNetError, match=r"model config: dcn_stages \(ResNet stages 1–4\) must be a list of distinct "
                                         r"integers ≥ 1 and ≤ 4"):
        ModelConfig(dcn_stages=value)
    with pytest.raises(LSNetError, match="config: dcn_stages must be a list of distinct integers"):
        training_config.resolve(None, {"dcn_stages": value})


def test_dcn_stages_travel_with_the_model_config():
    cfg = ModelConfig(dcn_stages=[4, 2, 3])
    assert cfg.dcn_stages == (2, 3, 4) and cfg.to_dict()["dcn_stages"] == [2, 3, 4]
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
