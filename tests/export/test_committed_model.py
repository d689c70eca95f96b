"""The committed trained model: its patched graph, run on the CPU with the plugins' twins, detects on
synthetic validation images what its portable graph (ONNX Runtime) and PyTorch detect."""
from pathlib import Path

import onnx
import pytest
from export_helpers import assert_same_detections, run_portable, run_pytorch

from lsnet.data.synth import DEFAULT_SIZE_RANGE, scene
from lsnet.description import ONNX_METADATA_KEY, ModelDescription
from lsnet.runtime.backends.twins_ops import run_patched
from lsnet.runtime.preprocess import preprocess

COMMITTED = Path(__file__).resolve().parents[2] / "models" / "lsnet_bbox_r10_synth.pt"


@pytest.fixture(scope="module")
def committed(models):
    if not COMMITTED.is_file():
        pytest.skip(f"{COMMITTED.name} is not in models/ yet")
    return models.of_checkpoint(COMMITTED)


def test_committed_model_patched_graph_detects_what_portable_graph_and_pytorch_detect(committed, twins):
    description = ModelDescription.from_json(
        {p.key: p.value for p in onnx.load(committed.portable).metadata_props}[ONNX_METADATA_KEY])
    images = [scene("bbox", seed=0, split="val", index=i, size_range=DEFAULT_SIZE_RANGE, max_objects=6)[0]
              for i in range(3)]
    for image in images:  # the static export takes one image per call
        batch, _ = preprocess([image], description)
        patched = run_patched(committed.patched, {"images": batch})
        assert_same_detections(patched, run_portable(committed.portable, batch))
        assert_same_detections(patched, run_pytorch(committed.checkpoint, batch))
        assert patched["num_dets"][0, 0] > 0
    assert committed.report.pyramid_dcn_calls == 30
