"""Helpers shared by the export tests (imported by name: the test folders have no packages)."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

BOX_TOLERANCE = 1e-4  # canvas pixels: the twins, ORT and torch differ by float32 rounding only (~1e-5)
SCORE_TOLERANCE = 1e-5


@dataclass
class ExportedModel:
    name: str
    checkpoint: Path
    portable: Path
    patched: Path
    report: object  # lsnet.export.patch.PatchReport


def random_images(batch: int, hw: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, *hw)).astype(np.float32)


def run_portable(path: Path, images: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": images})))


def run_pytorch(checkpoint: Path, images: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    from lsnet.model.checkpoint import load_model

    model, description = load_model(checkpoint)
    with torch.no_grad():
        return {k: v.numpy() for k, v in model.predict_padded(torch.from_numpy(images), description).items()}


def assert_same_detections(actual: dict, expected: dict) -> None:
    """Same count, same kept detections in the same order (labels exact, coordinates to float32 rounding)."""
    np.testing.assert_array_equal(actual["num_dets"], expected["num_dets"])
    for image, count in enumerate(expected["num_dets"][:, 0]):
        kept = slice(0, int(count))
        np.testing.assert_array_equal(actual["labels"][image, kept], expected["labels"][image, kept])
        np.testing.assert_allclose(actual["scores"][image, kept], expected["scores"][image, kept], atol=SCORE_TOLERANCE)
        for key in ("boxes", "landmarks"):
            np.testing.assert_allclose(actual[key][image, kept], expected[key][image, kept], atol=BOX_TOLERANCE, rtol=0)
        assert not actual["scores"][image, count:].any(), "slots past num_dets are zero"
    for key in ("boxes", "scores", "labels", "landmarks"):
        assert actual[key].shape == expected[key].shape, key


def plugin_nodes(path: Path, op: str) -> list[onnx.NodeProto]:
    return [node for node in onnx.load(path).graph.node if node.op_type == op]


def attributes(node: onnx.NodeProto) -> dict:
    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}
