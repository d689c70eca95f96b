"""Checkpoint files: self-describing, atomic, loaded with weights_only=True, clear errors."""
import pytest
import torch

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.model.checkpoint import load_matching_weights, load_model, read_checkpoint, save_checkpoint
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet


class NotAllowed:  # an arbitrary class: weights_only unpickling must refuse it
    pass


@pytest.fixture
def model():
    return LSNet(ModelConfig(num_classes=2, depth=10, fpn_channels=16, head_channels=16, gn_groups=4,
                             stacked_convs=1, tower="norm"))


DESCRIPTION = ModelDescription(task="bbox", class_names=["a", "b"], input_size=(64, 64))


def test_round_trip_keeps_weights_config_and_description(model, tmp_path):
    save_checkpoint(tmp_path / "m.pt", model, DESCRIPTION)
    loaded, description = load_model(tmp_path / "m.pt")
    assert description == DESCRIPTION and loaded.cfg == model.cfg
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_save_leaves_no_temporary_file(model, tmp_path):
    save_checkpoint(tmp_path / "m.pt", model, DESCRIPTION)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


@pytest.mark.parametrize("content,message", [
    (None, "not found"),
    (b"garbage", "not a readable checkpoint"),
    ("truncated", "not a readable checkpoint"),
    ("foreign", "not an lsnet checkpoint"),
    ("code", "not a readable checkpoint"),
    ("mmdet", "mmdet-format"),
])
def test_bad_checkpoints_give_one_line_errors(model, tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if content == "truncated":
        save_checkpoint(path, model, DESCRIPTION)
        path.write_bytes(path.read_bytes()[:1000])
    elif content == "foreign":
        torch.save({"weights": torch.zeros(2)}, path)
    elif content == "code":
        torch.save({"format": "lsnet-checkpoint", "x": NotAllowed()}, path)
    elif content == "mmdet":
        torch.save({"state_dict": {}, "meta": {}}, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(LSNetError, match=message) as info:
        read_checkpoint(path)
    assert "\n" not in str(info.value)


def test_weights_that_do_not_match_the_stored_config_are_an_error(model, tmp_path):
    save_checkpoint(tmp_path / "m.pt", model, DESCRIPTION)
    ckpt = read_checkpoint(tmp_path / "m.pt")
    ckpt["model_config"]["head_channels"] = 32
    torch.save(ckpt, tmp_path / "m.pt")
    with pytest.raises(LSNetError, match="do not match the model config"):
        load_model(tmp_path / "m.pt")


def test_half_precision_deploy_checkpoint_is_smaller_and_loads_as_float32(model, tmp_path):
    save_checkpoint(tmp_path / "full.pt", model, DESCRIPTION)
    save_checkpoint(tmp_path / "half.pt", model, DESCRIPTION, half=True)
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "full.pt").stat().st_size
    loaded, _ = load_model(tmp_path / "half.pt")
    for key, value in model.state_dict().items():
        got = loaded.state_dict()[key]
        assert got.dtype == value.dtype
        torch.testing.assert_close(got, value.half().to(value.dtype), rtol=0, atol=0)


def test_load_from_copies_every_weight_of_matching_shape_across_tasks(model, tmp_path):
    """A bbox model initialises a segm model: backbone, FPN, classifier and the landmark tower
    (bbox_convs → segm_convs); only the 36-point output layers, of other shapes, keep their init."""
    save_checkpoint(tmp_path / "bbox.pt", model, DESCRIPTION)
    segm = LSNet(ModelConfig(task="segm", num_classes=2, depth=10, fpn_channels=16, head_channels=16, gn_groups=4,
                             stacked_convs=1, tower="norm"))
    before = {k: v.clone() for k, v in segm.state_dict().items()}
    copied, kept = load_matching_weights(segm, tmp_path / "bbox.pt")
    source, after = model.state_dict(), segm.state_dict()
    assert kept == ["head.pts_segm_init_out.bias", "head.pts_segm_init_out.weight",
                    "head.pts_segm_refine_out.bias", "head.pts_segm_refine_out.weight"]
    assert copied == len(after) - len(kept)
    assert torch.equal(after["backbone.conv1.weight"], source["backbone.conv1.weight"])
    assert torch.equal(after["head.segm_convs.0.conv.weight"], source["head.bbox_convs.0.conv.weight"])
    assert all(torch.equal(after[k], before[k]) for k in kept)
