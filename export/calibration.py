"""INT8 calibration for TensorRT 10: images through THE pre-processing, fed to an entropy calibrator.

TensorRT calibrates with batches of the profile's `opt` shape; the batches here are exactly what
the runtime feeds the engine (`lsnet.runtime.preprocess.preprocess` onto that canvas), so the
activation ranges TensorRT measures are the ones it will see. The calibration cache makes a
rebuild skip the images. TensorRT 11 removed calibrators (INT8 comes from Q/DQ nodes in the
graph), so `lsnet.export.engine` refuses `--int8` there.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.runtime.preprocess import preprocess
from lsnet.runtime.sources import IMAGE_SUFFIXES, read_image


def calibration_images(folder: str | Path, batch: int) -> list[Path]:
    """The images of `folder` (sorted, for a repeatable calibration); LSNetError if fewer than one batch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LSNetError(f"calibration image folder {folder} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < batch:
        raise LSNetError(f"{folder} has {len(paths)} images, fewer than one calibration batch of {batch}; "
                         "calibrate with a few hundred images like the deployment's")
    return paths


def calibration_batches(paths: list[Path], description: ModelDescription, batch: int,
                        canvas_hw: tuple[int, int]) -> Iterator[np.ndarray]:
    """Float32 [batch, 3, H, W] arrays, full batches only (TensorRT calibrates at one batch size)."""
    for start in range(0, len(paths) - batch + 1, batch):
        images = [read_image(p) for p in paths[start:start + batch]]
        yield np.ascontiguousarray(preprocess(images, description, canvas_hw)[0])


def entropy_calibrator(trt, cuda, batches: Iterator[np.ndarray], batch: int, cache: Path):
    """A TensorRT 10 `IInt8EntropyCalibrator2` over `batches`, reading and writing `cache`.

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
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(bytes(data))

    return EntropyCalibrator()
