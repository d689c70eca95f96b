"""The one pre-processing of every backend and of training (docs/architecture.md §5).

Keep-ratio resize into a canvas, normalise (RGB, mean/std of the model description), pad the
bottom/right with zeros. `Letterbox` records the mapping so detections go back to the original
image with `Letterbox.to_original`.

A frames model (`lsnet export onnx --frames`) does all of this inside its graph
(`lsnet.export.frames_graph`, the same rule: `fit_scale`); its host pre-processing is
`stack_frames`, and its outputs are already in frame pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lsnet.errors import LSNetError


@dataclass(frozen=True)
class Letterbox:
    """How one image was placed on the network canvas."""

    scale: float  # resized = original * scale
    original_hw: tuple[int, int]
    resized_hw: tuple[int, int]
    canvas_hw: tuple[int, int]

    @classmethod
    def identity(cls, hw: tuple[int, int]) -> "Letterbox":
        """A frame the model letterboxed itself: its outputs are in the frame's pixels already."""
        hw = (int(hw[0]), int(hw[1]))
        return cls(1.0, hw, hw, hw)

    def to_original(self, xy: np.ndarray) -> np.ndarray:
        """Canvas pixel coordinates (…, 2) → original-image pixels, clamped to the image."""
        h, w = self.original_hw
        out = np.asarray(xy, dtype=np.float32) / self.scale
        out[..., 0] = np.clip(out[..., 0], 0, w)
        out[..., 1] = np.clip(out[..., 1], 0, h)
        return out


def round_up(value: int, divisor: int) -> int:
    return -(-value // divisor) * divisor


def fit_scale(original_hw: tuple[int, int], target_hw: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    """Largest scale that fits the image inside `target_hw`, and the resized (h, w).

    Rounded half up as mmcv's `imrescale` does (docs/lsnet-official.md §7: keep-ratio resize), in
    integers: floats misround exact halves (1408×55 into 192² is 7.4999… px wide in float64), and
    the frames graph computes the same integers (`lsnet.export.frames_graph`).
    """
    (h, w), (th, tw) = (int(v) for v in original_hw), (int(v) for v in target_hw)
    if th * w <= tw * h:  # the height binds: scale = th / h
        resized = (th, (2 * w * th + h) // (2 * h))
    else:  # the width binds: scale = tw / w
        resized = ((2 * h * tw + w) // (2 * w), tw)
    return min(th / h, tw / w), (max(1, resized[0]), max(1, resized[1]))


def resize_keep_ratio(image: np.ndarray, target_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Bilinear keep-ratio resize so the image fits inside `target_hw`."""
    scale, (rh, rw) = fit_scale(image.shape[:2], target_hw)
    if (rh, rw) != image.shape[:2]:
        image = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_LINEAR)
    return image, scale


def normalise(image_rgb: np.ndarray, mean, std) -> np.ndarray:
    """uint8/float HWC RGB → float32 CHW, (x − mean) / std."""
    x = image_rgb.astype(np.float32)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def check_image(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise LSNetError(f"expected an image as a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.shape[0] == 0 or image.shape[1] == 0:
        raise LSNetError(f"expected an H×W×3 BGR image, got an array of shape {image.shape}")
    if image.dtype != np.uint8:
        raise LSNetError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def preprocess(images_bgr: list[np.ndarray], description, canvas_hw: tuple[int, int] | None = None
               ) -> tuple[np.ndarray, list[Letterbox]]:
    """BGR uint8 images → float32 batch [B, 3, H, W] on one canvas, and their letterboxes.

    `canvas_hw=None` uses the description's `input_size`; `batch_canvas` says which canvas a
    batch runs on.
    """
    canvas_hw = tuple(canvas_hw or description.input_size)
    batch = np.zeros((len(images_bgr), 3, *canvas_hw), np.float32)
    boxes = []
    for i, img in enumerate(images_bgr):
        img = check_image(img)
        resized, scale = resize_keep_ratio(img, canvas_hw)
        rh, rw = resized.shape[:2]
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        batch[i, :, :rh, :rw] = normalise(rgb, description.mean, description.std)
        boxes.append(Letterbox(scale, tuple(img.shape[:2]), (rh, rw), canvas_hw))
    return batch, boxes


def stack_frames(frames: list[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
    """BGR uint8 frames of one size → the uint8 batch [B, H, W, 3] a frames model takes.

    No copy for one contiguous frame. The frames of one batch must share a size (one tensor);
    `Detector.predict` splits a list of mixed sizes into runs of one size.
    """
    frames = [check_image(f) for f in frames]
    sizes = {f.shape[:2] for f in frames}
    if len(sizes) > 1:
        listed = ", ".join(f"{w}×{h}" for h, w in sorted(sizes))
        raise LSNetError(f"a frames model takes a batch of frames of one size, got {listed}")
    batch = np.ascontiguousarray(frames[0][None]) if len(frames) == 1 else np.stack(frames)
    return batch, [Letterbox.identity(f.shape[:2]) for f in frames]


def dynamic_canvas(images_bgr: list[np.ndarray], description) -> tuple[int, int]:
    """Smallest canvas (multiple of the pad divisor) holding every image resized into input_size."""
    sizes = [fit_scale(check_image(im).shape[:2], description.input_size)[1] for im in images_bgr]
    d = description.pad_divisor
    return (round_up(max(s[0] for s in sizes), d), round_up(max(s[1] for s in sizes), d))


def batch_canvas(images_bgr: list[np.ndarray], description, tight: bool = False) -> tuple[int, int]:
    """The canvas a batch runs on, the one rule of every backend (docs/architecture.md §5).

    By default the description's `input_size`, which a fixed-size export is built for: the same
    input gives the same canvas, hence the same detections, on every backend. (The canvas matters
    beyond the padding: GroupNorm's statistics include the padded zeros.) `tight`, which only a
    dynamic model can take and only when the user asks, is the smallest padded canvas holding the
    batch (`dynamic_canvas`): less work on non-square input, slightly different detections.
    """
    return dynamic_canvas(images_bgr, description) if tight else tuple(description.input_size)
