"""Models, videos and datasets on disk for the runtime tests.

`small_checkpoint` is a real LSNet (ResNet-10, 16 channels, 128×128 canvas), untrained: its
detections are whatever random weights give (scores about 0.01, above its 0.005 threshold), which
is enough to test plumbing, shapes, timings and the agreement of backends. `small_onnx` is that
checkpoint through the real `lsnet export onnx`, `small_patched` that export through the real
`lsnet export patch`.
"""
import shutil
from pathlib import Path

import pytest
from export_cache import cache_key
from runtime_helpers import CLASS_NAMES, small_description

from lsnet.description import ONNX_METADATA_KEY


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory) -> Path:
    import torch

    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    torch.manual_seed(0)
    model = LSNet(ModelConfig(task="bbox", num_classes=len(CLASS_NAMES), depth=10, fpn_channels=16,
                              head_channels=16, gn_groups=4, stacked_convs=1, tower="norm", frozen_stages=-1,
                              norm_eval=False))
    path = tmp_path_factory.mktemp("models") / "small.pt"
    # A score threshold below the classifier's prior (0.01), so that the random weights give detections to compare.
    save_checkpoint(path, model, small_description(score_threshold=0.005))
    return path


@pytest.fixture(scope="session")
def small_onnx(small_checkpoint, request, tmp_path_factory) -> Path:
    """`small_checkpoint` through the real `export_onnx` (static 1×3×128×128), next to it as bench expects.

    The export is kept in pytest's cache between runs (`export_cache`); this file, which makes
    the checkpoint, is part of the key.
    """
    from lsnet.export.onnx_export import export_onnx

    pytest_cache = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`
    cache = Path(pytest_cache.mkdir("lsnet-runtime-small-onnx") if pytest_cache
                 else tmp_path_factory.mktemp("runtime-small-onnx"))
    cached = cache / f"{cache_key(Path(__file__).read_bytes())}.onnx"
    if not cached.exists():
        for stale in cache.glob("*.onnx"):
            stale.unlink()
        export_onnx(small_checkpoint, cached)
    out = small_checkpoint.with_name("small.onnx")
    shutil.copyfile(cached, out)
    return out


@pytest.fixture(scope="session")
def small_patched(small_onnx) -> Path:
    """`small_onnx` through the real `lsnet export patch`, next to the checkpoint (for bench)."""
    from lsnet.export.patch import patch_onnx

    return patch_onnx(small_onnx, small_onnx.with_name("small.trt.onnx")).out


@pytest.fixture
def fixed_output_onnx(tmp_path):
    """fixed_output_onnx(batch, height, width) → path of a PLUMBING FIXTURE, NOT A MODEL.

    Whatever the image, the graph outputs one detection (class 1, score 0.9, box 16,16 → 64,64
    in canvas pixels); an int is a fixed dimension, a str a symbolic one. It tests the ONNX
    Runtime backend's handling of shapes and batches, not detection.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def make(batch, height, width, name="fixture.onnx"):
        box = np.array([16, 16, 64, 64], np.float32)
        outputs = {"num_dets": np.array([[1]], np.int32), "boxes": box[None, None],
                   "scores": np.array([[0.9]], np.float32), "labels": np.array([[1]], np.int32),
                   "landmarks": np.array([[[[40, 16], [16, 40], [40, 64], [64, 40]]]], np.float32)}
        nodes = [helper.make_node("Shape", ["images"], ["shape"], start=0, end=1)]
        initializers = []
        for out_name, value in outputs.items():
            initializers += [numpy_helper.from_array(value, f"{out_name}_value"),
                             numpy_helper.from_array(np.array(value.shape[1:], np.int64), f"{out_name}_tail")]
            nodes += [helper.make_node("Concat", ["shape", f"{out_name}_tail"], [f"{out_name}_shape"], axis=0),
                      helper.make_node("Expand", [f"{out_name}_value", f"{out_name}_shape"], [out_name])]
        types = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32}
        graph = helper.make_graph(
            nodes, "fixed_output_fixture",
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, height, width])],
            [helper.make_tensor_value_info(k, types[v.dtype], [batch, *v.shape[1:]]) for k, v in outputs.items()],
            initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        model.metadata_props.add(key=ONNX_METADATA_KEY, value=small_description().to_json())
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, tmp_path / name)
        return tmp_path / name

    return make


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory) -> Path:
    from lsnet.data.video import write_video

    return write_video(tmp_path_factory.mktemp("video") / "shapes.mp4", "bbox", frames=12, size=(160, 120))

