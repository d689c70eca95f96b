"""`lsnet.training.config`: every key of default.yaml has a type-and-range rule, and paths in a
config file are relative to that file."""
from pathlib import Path

import pytest

from lsnet.errors import LSNetError
from lsnet.training import config


def test_every_default_key_has_a_rule_and_the_defaults_pass_it():
    assert set(config.RULES) == set(config.defaults())
    assert config.check_config(config.defaults()) == config.defaults()


def test_paths_in_a_config_file_are_relative_to_it_and_saved_absolute(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "run.yaml").write_text("data: ../data\nload_from: /abs/model.pt\nout: runs/x\n")
    cfg = config.resolve(tmp_path / "configs" / "run.yaml", config.parse_overrides(["pretrained=weights.pt"]))
    assert cfg["data"] == str(tmp_path / "data") and cfg["load_from"] == "/abs/model.pt"
    assert cfg["pretrained"] == "weights.pt" and cfg["out"] == "runs/x"  # command line and out: the current folder
    saved = config.saved_form(cfg)
    assert saved["pretrained"] == str(Path("weights.pt").resolve()) and saved["out"] == str(Path("runs/x").resolve())


@pytest.mark.parametrize("override", ["batch=true", "imgsz=[64]", "nms_iou_threshold=0", "seed=-1", "out="])
def test_a_value_out_of_its_rule_is_refused(override):
    with pytest.raises(LSNetError, match=f"config: {override.split('=')[0]}"):
        config.resolve(None, config.parse_overrides([override]))
