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


def tie_order(scores: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Indices of score-sorted detections, with each run of scores equal to float32 rounding
    (≤ SCORE_TOLERANCE apart) put in box order: their order is rounding, not behaviour."""
    order, start = [], 0
    for i in range(1, len(scores) + 1):
        if i == len(scores) or abs(scores[i] - scores[i - 1]) > SCORE_TOLERANCE:
            run = list(range(start, i))
            order += sorted(run, key=lambda j: tuple(np.round(boxes[j], 2)))
            start = i
    return np.array(order, dtype=int)


def assert_same_detections(actual: dict, expected: dict, box_tolerance: float = BOX_TOLERANCE) -> None:
    """Same count, same kept detections in the same order (labels exact, coordinates to float32
    rounding, `box_tolerance` pixels; detections whose scores tie to rounding may come in either order)."""
    np.testing.assert_array_equal(actual["num_dets"], expected["num_dets"])
    for image, count in enumerate(expected["num_dets"][:, 0]):
        count = int(count)
        a = tie_order(actual["scores"][image, :count], actual["boxes"][image, :count])
        e = tie_order(expected["scores"][image, :count], expected["boxes"][image, :count])
        np.testing.assert_array_equal(actual["labels"][image, a], expected["labels"][image, e])
        np.testing.assert_allclose(actual["scores"][image, a], expected["scores"][image, e], atol=SCORE_TOLERANCE)
        for key in ("boxes", "landmarks"):
            np.testing.assert_allclose(actual[key][image, a], expected[key][image, e], atol=box_tolerance, rtol=0)
        assert not actual["scores"][image, count:].any(), "slots past num_dets are zero"
    for key in ("boxes", "scores", "labels", "landmarks"):
        assert actual[key].shape == expected[key].shape, key


def plugin_nodes(path: Path, op: str) -> list[onnx.NodeProto]:
    return [node for node in onnx.load(path).graph.node if node.op_type == op]


def attributes(node: onnx.NodeProto) -> dict:
    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}
