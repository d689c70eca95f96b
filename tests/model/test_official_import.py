"""`lsnet import official` (lsnet/model/official_import.py): official-layout R-50 checkpoints of the four
task variants, built here — kps-box with DCNv2 in backbone stages 2–4, as every released kps-box config
has it — import through the CLI and detect exactly as the model built by hand with the official
options (docs/lsnet-official.md §1, §2.4, §2.5, §7); the released X-101-64x4d 'dconv' configs map onto
the X-101 DCN weights; a config that does not fit the weights or asks for what this model cannot do,
an unsafe pickle, and official weights under other options are one-line errors."""
import pytest
import torch
from official_layout import (DCN_C3_C5, official_r50_shapes, official_shapes, random_weights, write_checkpoint,
                             write_config)

from lsnet.cli import main
from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.model.checkpoint import load_matching_weights, load_model, read_checkpoint
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet
from lsnet.model.mmcv_config import read_config
from lsnet.model.official import OFFICIAL_BEHAVIOUR, from_official, load_official, to_official, weights_facts
from lsnet.model.official_import import options_from_config

# official task → (this model's options, box source, test_cfg nms_pre and max_per_img of the official configs)
VARIANTS = {"bbox": (dict(task="bbox", num_classes=80), "extreme_points", 1000, 100),
            "segm": (dict(task="segm", num_classes=80), "landmark_extent", 1000, 100),
            "pose_bbox": (dict(task="pose", pose_box="obj", num_classes=1), "side_midpoints", 100, 20),
            "pose_kbox": (dict(task="pose", pose_box="kps", num_classes=1, dcn_stages=(2, 3, 4)), "landmark_extent",
                          100, 20)}
IMAGES = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))  # a normalised canvas


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """variant → (official checkpoint, its config), made on first use."""
    folder, made = tmp_path_factory.mktemp("official"), {}

    def make(variant: str):
        if variant not in made:
            dcn_stages = VARIANTS[variant][0].get("dcn_stages", ())
            weights = random_weights(official_r50_shapes(variant, dcn_stages))
            made[variant] = (write_checkpoint(folder / f"{variant}.pth", weights),
                             write_config(folder / f"configs_{variant}", variant, dcn=bool(dcn_stages)))
        return made[variant]
    return make


def detections(model: LSNet, description: ModelDescription, images: torch.Tensor = IMAGES) -> dict:
    with torch.no_grad():
        return model.eval().predict_padded(images, description)


def hand_built(variant: str, checkpoint) -> LSNet:
    """The R-50 of `variant` with the official options, written out here, the official weights loaded."""
    model = LSNet(ModelConfig(**VARIANTS[variant][0], depth=50, pdcn_offsets="cumulative", pose_taps="official",
                              tower="dcn", stacked_convs=3))
    load_official(model, torch.load(checkpoint, weights_only=True))
    return model


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_imports_through_the_cli_and_detects_as_the_hand_built_official_model(variant, official, tmp_path):
    checkpoint, config = official(variant)
    out = tmp_path / "imported.pt"
    assert main(["import", "official", str(checkpoint), "--config", str(config), "--out", str(out)]) == 0
    model, description = load_model(out)
    options, box_source, nms_pre, max_per_img = VARIANTS[variant]
    names = ["person"] if options["task"] == "pose" else description.class_names
    assert len(names) == options["num_classes"] and names[0] == "person" and names[-1] in ("person", "toothbrush")
    expected = ModelDescription(task=options["task"], class_names=names, input_size=(800, 1333), box_source=box_source,
                                pre_nms_top_k=nms_pre, score_threshold=0.05, nms_iou_threshold=0.6,
                                max_detections=max_per_img)
    assert {**description.to_dict(), "extra": {}} == expected.to_dict()
    reference = hand_built(variant, checkpoint)
    ours, theirs = detections(model, description), detections(reference, expected)
    assert int(theirs["num_dets"].sum()) > 0
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key
    # the options matter: the same weights under the default `exact` offsets detect otherwise
    reference.cfg.pdcn_offsets = "exact"
    assert not torch.equal(detections(reference, expected)["boxes"], theirs["boxes"])
    if model.cfg.dcn_stages:  # and the backbone's DCN offsets are read: without them it detects otherwise
        reference.cfg.pdcn_offsets = "cumulative"
        for name, weights in model.backbone.named_parameters():
            if ".conv_offset." in name:
                weights.data.zero_()
        assert not torch.equal(detections(model, description)["boxes"], theirs["boxes"])


def test_a_config_that_does_not_fit_the_weights_is_one_line(official, tmp_path, capsys):
    checkpoint, _ = official("bbox")
    wrong_task = write_config(tmp_path / "segm", "segm")
    assert main(["import", "official", str(checkpoint), "--config", str(wrong_task), "--out", str(tmp_path / "a.pt")]) == 2
    assert "does not match the weights: task 'segm' (the weights: 'bbox')" in one_error_line(capsys)
    deeper = write_config(tmp_path / "r101", "bbox", depth=101)
    assert main(["import", "official", str(checkpoint), "--config", str(deeper), "--out", str(tmp_path / "b.pt")]) == 2
    assert "depth 101 (the weights: 50)" in one_error_line(capsys)
    dcn_backbone = write_config(tmp_path / "dconv", "bbox", dcn=True)
    assert main(["import", "official", str(checkpoint), "--config", str(dcn_backbone), "--out", str(tmp_path / "c.pt")]) == 2
    assert "does not match the weights: dcn_stages (2, 3, 4) (the weights: ())" in one_error_line(capsys)
    assert not list(tmp_path.glob("*.pt"))


def tiny_official(path, task="bbox", num_classes=3, meta=None, dcn_stages=()):
    """A small model in the official layout (depth 10 exists only here; the import reads it the same way);
    with `dcn_stages`, their DCN offsets drawn at random (about ±1 px), not the initial zeros."""
    torch.manual_seed(0)
    model = LSNet(ModelConfig(task=task, num_classes=num_classes, depth=10, fpn_channels=32, head_channels=32,
                              stacked_convs=1, pdcn_offsets="cumulative", dcn_stages=dcn_stages))
    for name, weights in model.backbone.named_parameters():
        if ".conv_offset." in name:
            torch.nn.init.normal_(weights, std=0.05)
    return write_checkpoint(path, to_official(model.state_dict()), meta)


# backbone keys of a config → the one line it gives: what the official code has and this model does not build
UNSUPPORTED_BACKBONES = {
    "dcn=dict(type='DCN', deformable_groups=1), stage_with_dcn=(False, True, True, True)":
        "model.backbone.dcn.type='DCN' is not supported: the backbone's deformable convs are DCNv2",
    "dcn=dict(type='DCNv2', deformable_groups=4), stage_with_dcn=(False, True, True, True)":
        "model.backbone.dcn.deformable_groups=4 is not supported: one offset group",
    "dcn=dict(type='DCNv2', fallback_on_stride=True), stage_with_dcn=(False, True, True, True)":
        "model.backbone.dcn.fallback_on_stride=True is not supported: DCNs in the strided blocks too",
    "dcn=dict(type='DCNv2'), stage_with_dcn=(True, True)":
        "model.backbone.stage_with_dcn=[True, True] is not supported: four True/False, one per stage",
    "type='Res2Net', scales=4, base_width=26, " + DCN_C3_C5:
        "model.backbone.type='Res2Net' is not supported: torchvision's ResNet / ResNeXt only",
}


@pytest.mark.parametrize("keys", UNSUPPORTED_BACKBONES)
def test_a_backbone_this_model_cannot_build_is_one_line(keys, tmp_path, capsys):
    checkpoint = tiny_official(tmp_path / "tiny.pth")
    config = write_config(tmp_path / "configs", "bbox")
    config.write_text(config.read_text().replace("style='pytorch'", f"style='pytorch', {keys}")
                      .replace("type='ResNet', ", "" if "Res2Net" in keys else "type='ResNet', "))
    assert main(["import", "official", str(checkpoint), "--config", str(config), "--out", str(tmp_path / "a.pt")]) == 2
    assert UNSUPPORTED_BACKBONES[keys] in one_error_line(capsys)
    assert not (tmp_path / "a.pt").exists()


# The released X-101 'dconv' kps-box config as it reaches the model: the R-50 obj-box file, overridden
# by the X-101-64x4d DCN obj-box file, overridden by the kps-box head.
X101_DCONV = """
_base_ = './lsnet_pose_bbox_r50.py'
model = dict(
    backbone=dict(type='ResNeXt', depth=101, groups=64, base_width=4, num_stages=4, out_indices=(0, 1, 2, 3),
                  frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=True),
                  {dcn}, norm_eval=True, with_cp=True, style='pytorch'))
"""
KBOX = """
_base_ = './lsnet_pose_bbox_x101_fpn_dconv_c3-c5_mstrain_2x_coco.py'
model = dict(bbox_head=dict(type='LSHead', task='pose_kbox', num_vectors=17))
"""


def test_the_released_x101_dconv_kps_box_config_fits_the_x101_dcn_weights(tmp_path):
    r50 = write_config(tmp_path, "pose_bbox")
    r50.rename(tmp_path / "lsnet_pose_bbox_r50.py")
    (tmp_path / "lsnet_pose_bbox_x101_fpn_dconv_c3-c5_mstrain_2x_coco.py").write_text(X101_DCONV.format(dcn=DCN_C3_C5))
    (tmp_path / "lsnet_pose_kbox_x101_fpn_dconv_c3-c5_mstrain_2x_coco.py").write_text(KBOX)
    options, _, _, _ = options_from_config(
        read_config(tmp_path / "lsnet_pose_kbox_x101_fpn_dconv_c3-c5_mstrain_2x_coco.py"), "kbox")
    assert {k: options[k] for k in ("task", "pose_box", "depth", "groups", "width_per_group", "dcn_stages", "tower")} == \
        {"task": "pose", "pose_box": "kps", "depth": 101, "groups": 64, "width_per_group": 4, "dcn_stages": (2, 3, 4),
         "tower": "dcn"}
    official = official_shapes("pose_kbox", "resnext101_64x4d", dcn_stages=(2, 3, 4))
    facts = weights_facts(from_official({k: torch.empty(v, device="meta") for k, v in official.items()}))
    assert {k: v for k, v in options.items() if k in facts} == facts
    with torch.device("meta"):  # the model these options build has the official names and shapes
        model = LSNet(ModelConfig(**options | OFFICIAL_BEHAVIOUR))
    assert {k: list(v.shape) for k, v in to_official(model.state_dict()).items()} == official


def test_without_a_config_the_weights_give_the_dcn_stages(tmp_path, capsys):
    checkpoint = tiny_official(tmp_path / "tiny_dcn.pth", dcn_stages=(3, 4))
    out = tmp_path / "tiny_dcn.pt"
    assert main(["import", "official", str(checkpoint), "--out", str(out), "--class-names", "a,b,c"]) == 0
    assert "ResNet-10 with DCNv2 in C4, C5" in capsys.readouterr().out
    model, description = load_model(out)
    assert model.cfg.dcn_stages == (3, 4)
    source = LSNet(ModelConfig(task="bbox", num_classes=3, depth=10, fpn_channels=32, head_channels=32, stacked_convs=1,
                               pdcn_offsets="cumulative", dcn_stages=(3, 4)))
    load_official(source, torch.load(checkpoint, weights_only=True))
    # P7 2×1 (GroupNorm(32) of 32 channels needs two values)
    images = torch.randn(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    description = description.replace(score_threshold=0.005)  # below the untrained classifier's prior, 0.01
    ours, theirs = detections(model, description, images), detections(source, description, images)
    assert int(theirs["num_dets"].sum()) > 0
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key


def test_without_a_config_the_weights_give_the_architecture_and_flags_the_class_names(tmp_path, capsys):
    checkpoint = tiny_official(tmp_path / "tiny.pth")
    out = tmp_path / "tiny.pt"
    assert main(["import", "official", str(checkpoint), "--out", str(out)]) == 2
    assert "the model has 3 classes: give their names with --class-names" in one_error_line(capsys)
    assert main(["import", "official", str(checkpoint), "--out", str(out), "--class-names", "cat,dog,eel",
                 "--imgsz", "96", "128"]) == 0
    assert "note: no config" in capsys.readouterr().out
    model, description = load_model(out)
    assert (model.cfg.depth, model.cfg.num_classes, model.cfg.stacked_convs, model.cfg.head_channels) == (10, 3, 1, 32)
    assert model.cfg.pdcn_offsets == "cumulative" and description.class_names == ["cat", "dog", "eel"]
    assert description.input_size == (96, 128)


def test_the_config_mmdet_stores_in_the_checkpoint_and_its_class_names_are_used(official, tmp_path):
    _, config = official("bbox")
    text = (config.parent / "dataset.py").read_text() + config.read_text().replace("_base_ = ['./dataset.py']", "")
    names = tuple(f"thing{i}" for i in range(80))
    weights = torch.load(official("bbox")[0], weights_only=True)["state_dict"]
    checkpoint = write_checkpoint(tmp_path / "with_meta.pth", weights, {"config": text, "CLASSES": names})
    out = tmp_path / "with_meta.pt"
    assert main(["import", "official", str(checkpoint), "--out", str(out)]) == 0
    description = read_checkpoint(out)["description"]
    assert description["class_names"] == list(names)
    assert description["extra"]["official_weights"]["options_from"] == "config with_meta.pth meta['config']"


def test_official_weights_under_other_options_are_refused_unless_asked_for_at_import(tmp_path, capsys):
    checkpoint = tiny_official(tmp_path / "tiny.pth")
    out = tmp_path / "tiny.pt"
    assert main(["import", "official", str(checkpoint), "--out", str(out), "--class-names", "a,b,c"]) == 0
    edited = read_checkpoint(out)
    edited["model_config"]["pdcn_offsets"] = "exact"
    torch.save(edited, tmp_path / "edited.pt")
    assert main(["export", "onnx", str(tmp_path / "edited.pt"), "--out", str(tmp_path / "edited.onnx")]) == 2
    assert "holds official LSNet weights, but its model options differ from theirs: pdcn_offsets 'exact'" \
           in one_error_line(capsys)
    # asked for at import: recorded, and loading accepts it
    assert main(["import", "official", str(checkpoint), "--out", str(tmp_path / "exact.pt"), "--class-names", "a,b,c",
                 "--unofficial-option", "pdcn_offsets=exact"]) == 0
    model, description = load_model(tmp_path / "exact.pt")
    assert model.cfg.pdcn_offsets == "exact"
    assert description.extra["official_weights"]["unofficial_options"] == {"pdcn_offsets": "exact"}


def test_load_from_official_weights_into_other_options_is_refused_unless_allowed(tmp_path):
    checkpoint = tiny_official(tmp_path / "tiny.pth")
    assert main(["import", "official", str(checkpoint), "--out", str(tmp_path / "tiny.pt"), "--class-names", "a,b,c"]) == 0
    student = LSNet(ModelConfig(task="segm", num_classes=2, depth=10, fpn_channels=32, head_channels=32, stacked_convs=1))
    with pytest.raises(LSNetError, match="holds official LSNet weights.*pdcn_offsets 'exact' .official 'cumulative'."):
        load_matching_weights(student, tmp_path / "tiny.pt")
    copied, _ = load_matching_weights(student, tmp_path / "tiny.pt", allow_unofficial_options=True)
    assert copied > 0


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "ran"
    torch.save({"meta": {"hook": _RunsCode(marker)}, "state_dict": {}}, tmp_path / "evil.pth")
    assert main(["import", "official", str(tmp_path / "evil.pth"), "--out", str(tmp_path / "evil.pt")]) == 2
    assert "refusing to unpickle" in one_error_line(capsys)
    assert not marker.exists()


def test_an_mmdet_checkpoint_given_to_other_commands_points_to_the_import(tmp_path):
    checkpoint = tiny_official(tmp_path / "tiny.pth")
    with pytest.raises(LSNetError, match=f"lsnet import official {checkpoint} --config CONFIG.py --out MODEL.pt"):
        load_model(checkpoint)
