"""mmcv-style Python configs read without executing them (lsnet/model/mmcv_config.py): the safe subset,
`_base_` inheritance merged as mmcv's `Config._merge_a_into_b` merges (hand-worked), and what is not read."""
import pytest

from lsnet.errors import LSNetError
from lsnet.model.mmcv_config import Unreadable, parse_config_text, read_config


def test_literals_dict_calls_names_splats_and_arithmetic_are_evaluated():
    cfg = parse_config_text("""
root = 'data/coco/'
norm = dict(type='GN', num_groups=32)
model = dict(neck=dict(norm_cfg=norm), scales=[(1333, 800), (1333, -480)], lr=0.01 * 2, ann=root + 'val.json',
             steps={'a': 1, **dict(b=2)}, flags=(True, None))
pipeline = [dict(type='Normalize', **dict(mean=[1.0], std=[2.0]))]
""", "c.py")
    assert cfg["model"] == {"neck": {"norm_cfg": {"type": "GN", "num_groups": 32}},
                            "scales": [(1333, 800), (1333, -480)], "lr": 0.02, "ann": "data/coco/val.json",
                            "steps": {"a": 1, "b": 2}, "flags": (True, None)}
    assert cfg["pipeline"] == [{"type": "Normalize", "mean": [1.0], "std": [2.0]}]


def test_nothing_is_executed_and_what_is_not_read_says_where(tmp_path):
    marker = tmp_path / "ran"
    cfg = parse_config_text(f"""import os
model = dict(depth=50, init=open({str(marker)!r}, 'w'))
hook = __import__('os').system('touch {marker}')
if True:
    lr = 1
""", "c.py")
    assert not marker.exists()
    assert cfg["model"]["depth"] == 50
    assert isinstance(cfg["model"]["init"], Unreadable) and "c.py, line 2" in str(cfg["model"]["init"])
    assert isinstance(cfg["hook"], Unreadable) and "line 3" in str(cfg["hook"])
    assert "`If` statement" in str(cfg["lr"]) and "`Import`" in str(cfg["os"])


def test_base_files_merge_dicts_recursively_unless_delete_and_replace_other_values(tmp_path):
    (tmp_path / "_base_").mkdir()
    (tmp_path / "_base_" / "model.py").write_text(
        "model = dict(backbone=dict(depth=50, style='pytorch'), head=dict(task='bbox', loss=dict(w=1)))\n"
        "steps = [8, 11]\n")
    (tmp_path / "_base_" / "data.py").write_text("data = dict(test=dict(type='CocoDataset'))\n")
    (tmp_path / "child.py").write_text(
        "_base_ = ['./_base_/model.py', './_base_/data.py']\n"
        "model = dict(backbone=dict(depth=101), head=dict(task='pose_kbox', _delete_=True))\n"
        "steps = [16]\n")
    (tmp_path / "grandchild.py").write_text("_base_ = './child.py'\nmodel = dict(backbone=dict(groups=64))\n")
    cfg = read_config(tmp_path / "grandchild.py")
    # backbone merged down the chain; head replaced whole (its `loss` gone); the list replaced
    assert cfg == {"model": {"backbone": {"depth": 101, "style": "pytorch", "groups": 64},
                             "head": {"task": "pose_kbox"}},
                   "steps": [16], "data": {"test": {"type": "CocoDataset"}}}


def test_inheritance_errors_are_one_line(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("x = 2\n")
    (tmp_path / "twice.py").write_text("_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(LSNetError, match="key 'x' is set by two of its _base_ files"):
        read_config(tmp_path / "twice.py")
    (tmp_path / "loop.py").write_text("_base_ = 'loop.py'\n")
    with pytest.raises(LSNetError, match="cycle"):
        read_config(tmp_path / "loop.py")
    (tmp_path / "clash.py").write_text("_base_ = 'a.py'\nx = dict(y=1)\n")
    with pytest.raises(LSNetError, match="x is a dict in the child config but not in its base"):
        read_config(tmp_path / "clash.py")
    (tmp_path / "bad.py").write_text("model = dict(\n")
    with pytest.raises(LSNetError, match="is not valid Python"):
        read_config(tmp_path / "bad.py")
    with pytest.raises(LSNetError, match="not found"):
        read_config(tmp_path / "missing.py")
