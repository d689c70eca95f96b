"""An official checkpoint brought in by `lsnet import official` exports like any lsnet model: its
portable ONNX on ONNX Runtime detects as PyTorch does (docs/architecture.md §2, §3). Pose with obj-box
— two landmark branches, side-midpoint boxes, the official pose taps — as an R-50 export takes most of
a minute here (the four variants' imports: tests/model/test_official_import.py); and a small kps-box
model with DCNv2 in backbone stages 2–4 (the released kps-box configs' backbone), whose DeformConv
nodes stay standard ONNX through `export patch`."""
from contextlib import redirect_stdout

import pytest
import torch
from export_helpers import assert_same_detections, attributes, plugin_nodes, random_images, run_portable, run_pytorch
from official_layout import official_r50_shapes, random_weights, write_checkpoint, write_config

from lsnet.cli import main
from lsnet.model.checkpoint import read_checkpoint
from lsnet.export.onnx_export import MIN_OPSET
from lsnet.model.config import ModelConfig
from lsnet.model.dcn import ModulatedDeformConv2d
from lsnet.model.lsnet import LSNet
from lsnet.model.official import to_official
from lsnet.runtime.backends.twins_ops import run_patched


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


def small_dcn_kps_box_weights() -> dict:
    """Official-layout weights of a small kps-box model with DCNv2 in backbone stages 2–4: ResNet-10 (a
    depth only this project builds; the import reads it like any other), 32 channels, one tower layer,
    named by `to_official` (tests/model pins those names). Its own init, so that features stay of order
    1, made to matter: every residual branch on (torchvision zero-inits their last BN scale), backbone
    DCN offsets of about ±1 px, scores above the threshold, keypoint vectors spread."""
    torch.manual_seed(0)
    model = LSNet(ModelConfig(task="pose", pose_box="kps", num_classes=1, depth=10, fpn_channels=32,
                              head_channels=32, stacked_convs=1, dcn_stages=(2, 3, 4)))
    for name, weights in model.backbone.named_parameters():
        if ".conv_offset." in name:
            torch.nn.init.normal_(weights, std=0.05)
        elif ".bn2.weight" in name:
            torch.nn.init.ones_(weights)
    torch.nn.init.constant_(model.head.pts_cls_out.bias, -1.0)
    for stage in ("init", "refine"):
        torch.nn.init.normal_(getattr(model.head, f"pts_pose_{stage}_out").bias, std=1.0)
    return to_official(model.state_dict())


def test_an_imported_dcn_backbone_model_exports_detects_as_in_pytorch_and_keeps_its_deform_convs(models, twins,
                                                                                                 tmp_path):
    official = write_checkpoint(tmp_path / "lsnet_pose_kbox_r10_dconv.pth", small_dcn_kps_box_weights())
    imported = tmp_path / "pose_kbox_r10_dconv.pt"
    assert main(["import", "official", str(official), "--out", str(imported), "--imgsz", "128", "160"]) == 0
    assert read_checkpoint(imported)["model_config"]["dcn_stages"] == [2, 3, 4]
    exported = models.of_checkpoint(imported)  # `lsnet export onnx`'s export_onnx (cached) and `export patch`
    images = random_images(1, (128, 160))
    expected = run_pytorch(imported, images)
    assert expected["num_dets"].sum() > 0
    assert_same_detections(run_portable(exported.portable, images), expected)
    assert_same_detections(run_patched(exported.patched, {"images": images}), expected)
    # one DeformConv per backbone block of stages 2–4 (one block each at depth 10), one per tower layer
    # (classification and keypoints) and level; the patch replaces the pyramid DCNs only
    assert len(plugin_nodes(exported.portable, "DeformConv")) == len(plugin_nodes(exported.patched, "DeformConv")) \
        == 3 + 2 * 5
    assert exported.report.pyramid_dcn_calls == 30


def test_a_bottleneck_dcnv2_strided_and_grouped_is_one_deform_conv_that_onnx_runtime_computes_as_pytorch(tmp_path):
    """The 3×3 conv of an R-50 / X-101 DCN stage's first block: stride 2, groups (64 in X-101), no bias."""
    import io

    import numpy as np
    import onnxruntime as ort

    torch.manual_seed(0)
    dcn = ModulatedDeformConv2d.from_conv(torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4, bias=False)).eval()
    torch.nn.init.normal_(dcn.conv_offset.weight, std=0.3)  # offsets of a few pixels
    x = torch.randn(1, 8, 11, 13)
    with redirect_stdout(io.StringIO()):
        torch.onnx.export(dcn, (x,), tmp_path / "dcn.onnx", dynamo=True, opset_version=MIN_OPSET)
    (node,) = plugin_nodes(tmp_path / "dcn.onnx", "DeformConv")
    assert attributes(node)["strides"] == [2, 2] and attributes(node)["group"] == 4
    session = ort.InferenceSession(tmp_path / "dcn.onnx", providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(actual, dcn(x).numpy(), atol=1e-5, rtol=1e-5)
