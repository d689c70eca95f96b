"""An official checkpoint brought in by `lsnet import official` exports like any lsnet model: its
portable ONNX on ONNX Runtime detects as PyTorch does (docs/architecture.md §2, §3). One variant, pose
with obj-box — two landmark branches, side-midpoint boxes, the official pose taps — as an R-50 export
takes most of a minute here (the four variants' imports: tests/model/test_official_import.py)."""
import pytest
from export_helpers import assert_same_detections, random_images, run_portable, run_pytorch
from official_layout import official_r50_shapes, random_weights, write_checkpoint, write_config

from lsnet.cli import main
from lsnet.model.checkpoint import read_checkpoint


@pytest.mark.slow  # an R-50 export on first run (cached after): about a minute on 2 cores
def test_an_imported_official_model_on_onnx_runtime_detects_as_in_pytorch(models, tmp_path):
    official = write_checkpoint(tmp_path / "lsnet_pose_bbox_r50.pth", random_weights(official_r50_shapes("pose_bbox")))
    config = write_config(tmp_path / "configs", "pose_bbox")
    imported = tmp_path / "pose_bbox_r50.pt"
    assert main(["import", "official", str(official), "--config", str(config), "--out", str(imported)]) == 0
    assert read_checkpoint(imported)["model_config"]["pdcn_offsets"] == "cumulative"
    exported = models.of_checkpoint(imported, imgsz=(128, 160))  # `lsnet export onnx`'s export_onnx, cached
    images = random_images(1, (128, 160))
    expected = run_pytorch(imported, images)
    assert expected["num_dets"].sum() > 0
    # R-50's 256-channel sums round further than the small test models': 1e-3 px at ~100 px
    assert_same_detections(run_portable(exported.portable, images), expected, box_tolerance=1e-3)
