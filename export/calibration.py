"""INT8 calibration images: which ones, and how they become network inputs.

Both INT8 paths calibrate on images read through THE pre-processing
(`lsnet.runtime.preprocess.preprocess`), so the activation ranges measured are the ones the model
will see:
- `lsnet export quantize --int8 --calib DIR` (`lsnet.export.quantize`): NVIDIA ModelOpt measures
  the ranges on ONNX Runtime and writes Q/DQ nodes into the graph — TensorRT 10 and 11 alike;
- the fallback of `lsnet export engine --int8 --calib-images DIR` on TensorRT 10 only: an entropy
  calibrator inside the engine build (`entropy_calibrator`). TensorRT 10.1+ deprecates calibrators
  and TensorRT 11 removed them, so `lsnet.export.engine` refuses it there.

A calibration folder is a dataset in the COCO layout — its `train` split by default, never the
split a model is evaluated on — or a plain folder of images.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.files import atomic_write
from lsnet.runtime.preprocess import preprocess
from lsnet.runtime.sources import IMAGE_SUFFIXES, read_image

DEFAULT_SPLIT = "train"


def image_files(folder: Path) -> list[Path]:
    """The images directly in `folder`, sorted by name (a repeatable calibration)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def calibration_folder(path: str | Path, split: str = DEFAULT_SPLIT) -> Path:
    """The image folder to calibrate with: `path/split/` of a COCO-layout dataset, else `path` itself
    if it holds images; LSNetError if neither has any."""
    path = Path(path)
    if not path.is_dir():
        raise LSNetError(f"calibration folder {path} does not exist")
    for folder in (path / split, path):
        if folder.is_dir() and image_files(folder):
            return folder
    raise LSNetError(f"calibration folder {path} has no images ({', '.join(IMAGE_SUFFIXES)}) in it or in its "
                     f"{split}/ split")


def select_images(folder: Path, count: int) -> list[Path]:
    """`count` images of `folder`, spread evenly over its sorted list (not only the first few
    scenes); LSNetError if it has fewer."""
    paths = image_files(folder)
    if count < 1:
        raise LSNetError(f"the number of calibration images must be ≥ 1, got {count}")
    if len(paths) < count:
        raise LSNetError(f"{folder} has {len(paths)} images, fewer than the {count} asked for calibration; "
                         "ask for fewer or add images")
    return [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]


def calibration_images(folder: str | Path, batch: int) -> list[Path]:
    """TensorRT 10 calibrator: every image of `folder` (sorted); LSNetError if fewer than one batch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LSNetError(f"calibration image folder {folder} does not exist")
    paths = image_files(folder)
    if len(paths) < batch:
        raise LSNetError(f"{folder} has {len(paths)} images, fewer than one calibration batch of {batch}; "
                         "calibrate with a few hundred images like the deployment's")
    return paths


def calibration_batches(paths: list[Path], description: ModelDescription, batch: int,
                        canvas_hw: tuple[int, int]) -> Iterator[np.ndarray]:
    """Float32 [batch, 3, H, W] arrays, full batches only (TensorRT calibrates at one batch size).

    A frames engine takes uint8 [batch, H, W, 3] frames of one size, `canvas_hw` being the frame
    size of its profile's opt shape: each image is stretched to it (OpenCV, bilinear) and the
    graph letterboxes it as it will letterbox the deployment's frames.
    """
    for start in range(0, len(paths) - batch + 1, batch):
        images = [read_image(p) for p in paths[start:start + batch]]
        if description.takes_frames:
            size = (canvas_hw[1], canvas_hw[0])
            yield np.stack([cv2.resize(image, size, interpolation=cv2.INTER_LINEAR) for image in images])
        else:
            yield np.ascontiguousarray(preprocess(images, description, canvas_hw)[0])


def entropy_calibrator(trt, cuda, batches: Iterator[np.ndarray], batch: int, cache: Path):
    """A TensorRT 10 `IInt8EntropyCalibrator2` over `batches`, reading and writing `cache` — the
    fallback INT8 path (module docstring); the explicit one is `lsnet export quantize --int8`.

    Call it with a CUDA context current (the builder runs it during the build).
    """

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()  # the pybind11 trampoline needs the base initialised
            self.device = None

        def get_batch_size(self) -> int:
            return batch

        def get_batch(self, names):
            images = next(batches, None)
            if images is None:
                return None  # tells TensorRT the calibration set is exhausted
            if self.device is None:
                self.device = cuda.mem_alloc(images.nbytes)
            cuda.memcpy_htod(self.device, images)
            return [int(self.device)]

        def read_calibration_cache(self):
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data) -> None:
            atomic_write(cache, bytes(data))

    return EntropyCalibrator()
