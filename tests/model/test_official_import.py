"""`lsnet import official` (lsnet/model/official_import.py): official-layout R-50 checkpoints of the four
task variants, built here, import through the CLI and detect exactly as the model built by hand with
the official options (docs/lsnet-official.md §2.4, §2.5, §7); a config that does not fit the weights, an
unsafe pickle, and official weights under other options are one-line errors."""
import pytest
import torch
from official_layout import official_r50_shapes, random_weights, write_checkpoint, write_config

from lsnet.cli import main
from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.model.checkpoint import load_matching_weights, load_model, read_checkpoint
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet
from lsnet.model.official import load_official, to_official

# official task → (this model's options, box source, test_cfg nms_pre and max_per_img of the official configs)
VARIANTS = {"bbox": (dict(task="bbox", num_classes=80), "extreme_points", 1000, 100),
            "segm": (dict(task="segm", num_classes=80), "landmark_extent", 1000, 100),
            "pose_bbox": (dict(task="pose", pose_box="obj", num_classes=1), "side_midpoints", 100, 20),
            "pose_kbox": (dict(task="pose", pose_box="kps", num_classes=1), "landmark_extent", 100, 20)}
IMAGES = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))  # a normalised canvas


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """variant → (official checkpoint, its config), made on first use."""
    folder, made = tmp_path_factory.mktemp("official"), {}

    def make(variant: str):
        if variant not in made:
            weights = random_weights(official_r50_shapes(variant))
            made[variant] = (write_checkpoint(folder / f"{variant}.pth", weights),
                             write_config(folder / f"configs_{variant}", variant))
        return made[variant]
    return make


def detections(model: LSNet, description: ModelDescription) -> dict:
    with torch.no_grad():
        return model.eval().predict_padded(IMAGES, description)


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


def test_a_config_that_does_not_fit_the_weights_is_one_line(official, tmp_path, capsys):
    checkpoint, _ = official("bbox")
    wrong_task = write_config(tmp_path / "segm", "segm")
    assert main(["import", "official", str(checkpoint), "--config", str(wrong_task), "--out", str(tmp_path / "a.pt")]) == 2
    assert "does not match the weights: task 'segm' (the weights: 'bbox')" in one_error_line(capsys)
    deeper = write_config(tmp_path / "r101", "bbox", depth=101)
    assert main(["import", "official", str(checkpoint), "--config", str(deeper), "--out", str(tmp_path / "b.pt")]) == 2
    assert "depth 101 (the weights: 50)" in one_error_line(capsys)
    dcn_backbone = write_config(tmp_path / "dconv", "bbox")
    dcn_backbone.write_text(dcn_backbone.read_text().replace("style='pytorch'", "style='pytorch', dcn=dict(type='DCNv2')"))
    assert main(["import", "official", str(checkpoint), "--config", str(dcn_backbone), "--out", str(tmp_path / "c.pt")]) == 2
    assert "model.backbone.dcn={'type': 'DCNv2'} is not supported" in one_error_line(capsys)
    assert not list(tmp_path.glob("*.pt"))


def tiny_official(path, task="bbox", num_classes=3, meta=None):
    """A small model in the official layout (depth 10 exists only here; the import reads it the same way)."""
    torch.manual_seed(0)
    model = LSNet(ModelConfig(task=task, num_classes=num_classes, depth=10, fpn_channels=32, head_channels=32,
                              stacked_convs=1, pdcn_offsets="cumulative"))
    return write_checkpoint(path, to_official(model.state_dict()), meta)


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
