"""The detections every backend returns (docs/architecture.md §3), and the one post-processing from the
padded model outputs (`num_dets, boxes, scores, labels, landmarks`) back to original pixels."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lsnet.description import CANVAS_OUTPUT_PREFIX, ModelDescription
from lsnet.errors import LSNetError
from lsnet.runtime.preprocess import Letterbox

# The outputs of every exported graph, in this order (docs/architecture.md §3).
PADDED_OUTPUT_NAMES = ("num_dets", "boxes", "scores", "labels", "landmarks")


def decode_output_names(description) -> list[str]:
    """The tensors an exported graph's decode writes: its outputs, or a frames model's `canvas_…`
    (canvas pixels, which its letterbox maps to frame pixels)."""
    prefix = CANVAS_OUTPUT_PREFIX if description.takes_frames else ""
    return [prefix + name for name in PADDED_OUTPUT_NAMES]


def check_outputs(description: ModelDescription, shapes: dict[str, list], where: str) -> None:
    """The padded outputs a model file declares (name → shape, ints or None/str for varying
    dimensions) agree with its description: all five present, `landmarks` [B, K, N, 2] with the
    description's N, `boxes` [B, K, 4] (docs/architecture.md §3)."""
    missing = [name for name in PADDED_OUTPUT_NAMES if name not in shapes]
    if missing:
        raise LSNetError(f"{where} lacks the outputs {', '.join(missing)}; export it with `lsnet export onnx`")
    landmarks, boxes = list(shapes["landmarks"]), list(shapes["boxes"])
    if len(landmarks) != 4 or len(boxes) != 3:
        raise LSNetError(f"{where}: outputs landmarks {landmarks} and boxes {boxes} are not [B, K, N, 2] and [B, K, 4]")
    n = landmarks[2]
    if isinstance(n, int) and n != description.num_landmarks:
        raise LSNetError(f"{where}: the graph outputs {n} landmarks per detection but its description is a "
                         f"{description.task} model with {description.num_landmarks}; the metadata belongs to "
                         "another model: re-export it")


@dataclass
class Detections:
    """One image's detections, sorted by score, in original-image pixels."""

    boxes: np.ndarray  # float32 [K, 4] x1, y1, x2, y2
    scores: np.ndarray  # float32 [K]
    labels: np.ndarray  # int64 [K]
    landmarks: np.ndarray  # float32 [K, N, 2] x, y
    class_names: list[str]
    task: str | None = None  # bbox, segm or pose: what the landmarks are (for drawing); None if unknown

    def __len__(self) -> int:
        return len(self.scores)

    def subset(self, keep: np.ndarray) -> "Detections":
        """The detections a boolean mask or an index array selects, in that order."""
        return dataclasses.replace(self, boxes=self.boxes[keep], scores=self.scores[keep], labels=self.labels[keep],
                                   landmarks=self.landmarks[keep])

    def above(self, score: float) -> "Detections":
        return self.subset(self.scores >= score)

    def label_names(self) -> list[str]:
        return [self.class_names[i] for i in self.labels]


def detections_from_padded(outputs: dict[str, np.ndarray], letterboxes: list[Letterbox],
                           class_names: list[str], task: str | None = None) -> list[Detections]:
    """Padded outputs in canvas pixels → per-image `Detections` in original pixels.

    Coordinates are clamped to the resized image (the model clamps only to the canvas, which
    also holds the padding) and then divided by the resize scale.
    """
    num = np.asarray(outputs["num_dets"]).reshape(-1)
    result = []
    for i, lb in enumerate(letterboxes):
        k = int(num[i])
        h, w = lb.resized_hw
        boxes = np.asarray(outputs["boxes"][i, :k], np.float32).reshape(k, 2, 2).copy()
        marks = np.asarray(outputs["landmarks"][i, :k], np.float32).copy()
        for xy in (boxes, marks):
            xy[..., 0] = np.clip(xy[..., 0], 0, w)
            xy[..., 1] = np.clip(xy[..., 1], 0, h)
        labels = np.asarray(outputs["labels"][i, :k]).astype(np.int64)
        if k and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise LSNetError(f"the model gave class {labels.max() if labels.max() >= 0 else labels.min()} but its "
                             f"description names {len(class_names)} classes; the description belongs to another "
                             "model: re-export it")
        result.append(Detections(
            boxes=lb.to_original(boxes).reshape(k, 4),
            scores=np.asarray(outputs["scores"][i, :k], np.float32),
            labels=labels,
            landmarks=lb.to_original(marks),
            class_names=class_names,
            task=task,
        ))
    return result
