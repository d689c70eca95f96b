"""The detector every backend provides (docs/architecture.md §5): pre-processing, the backend's model
call on a padded batch, and post-processing back to original pixels — only the middle step
differs between PyTorch, ONNX Runtime and TensorRT.

A frames model (`description.input_kind == "frames"`) letterboxes inside its graph: its
pre-processing is stacking the uint8 frames (`stack_frames`), its outputs are in frame pixels."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from lsnet.description import ModelDescription
from lsnet.runtime.detections import Detections, detections_from_padded
from lsnet.errors import LSNetError
from lsnet.runtime.preprocess import Letterbox, batch_canvas, preprocess, stack_frames


class Detector:
    backend = "base"

    def __init__(self, description: ModelDescription, dynamic: bool, max_batch: int | None = None,
                 fixed_batch: bool = False):
        self.description = description
        self.dynamic = dynamic  # takes any canvas (a multiple of the pad divisor), not only input_size
        self.tight_canvas = False  # run each batch on its smallest canvas (`use_tight_canvas`)
        self.max_batch = max_batch  # None → any batch size
        self.fixed_batch = fixed_batch  # the model takes exactly max_batch images (see `fit_batch`)
        self.timings: dict[str, float] = {"pre": 0.0, "model": 0.0, "post": 0.0}
        # Parts of the last `infer`, in seconds, for backends that can time them apart
        # (e.g. {"decode": …} for the decode + NMS inside "model"); merged into `timings`.
        self.model_stages: dict[str, float] = {}
        # What the exporter recorded (e.g. {"checkpoint": "best.pt", "batch": 1}); empty for a checkpoint.
        self.export_info: dict = {}

    @classmethod
    def from_file(cls, path: str, **options) -> "Detector":
        """The detector for a model file; `lsnet.runtime.load` calls this with the user's options."""
        raise NotImplementedError

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The batch `prepare` made → padded outputs (`num_dets`, `boxes`, …): normalised float32
        [B, 3, H, W] → canvas pixels; for a frames model uint8 [B, H, W, 3] → frame pixels."""
        raise NotImplementedError

    def fit_batch(self, batch: np.ndarray) -> np.ndarray:
        """The batch a fixed-batch model must get: a smaller one padded with zero images."""
        missing = self.max_batch - len(batch) if self.fixed_batch else 0
        return np.concatenate([batch, np.zeros((missing, *batch.shape[1:]), batch.dtype)]) if missing > 0 else batch

    def use_tight_canvas(self, name: str = "this model") -> None:
        """Run each batch on the smallest padded canvas holding it instead of the model's input size
        (`lsnet.runtime.preprocess.batch_canvas`); only a dynamic model can."""
        if not self.dynamic:
            h, w = self.description.input_size
            raise LSNetError(f"{name} takes only its {h}×{w} input: a tight canvas needs a dynamic model "
                             "(a .pt checkpoint, `lsnet export onnx --dynamic`, an engine built with --dynamic)")
        self.tight_canvas = True

    def canvas_for(self, images: Sequence[np.ndarray]) -> tuple[int, int]:
        return batch_canvas(images, self.description, self.tight_canvas)

    def prepare(self, images: list[np.ndarray]) -> tuple[np.ndarray, list[Letterbox]]:
        """The host pre-processing: the batch `infer` takes, and how each image maps back."""
        if self.description.takes_frames:
            return stack_frames(images)
        return preprocess(images, self.description, self.canvas_for(images))

    def predict(self, images: np.ndarray | Sequence[np.ndarray]) -> Detections | list[Detections]:
        """One BGR uint8 image → `Detections`; a list of images → a list."""
        single = isinstance(images, np.ndarray) and images.ndim in (2, 3)
        images = [images] if single else list(images)
        step = self.max_batch or max(len(images), 1)
        results = []
        for run in self._same_size_runs(images):
            for start in range(0, len(run), step):
                results += self._predict_chunk(run[start:start + step])
        return results[0] if single else results

    def _same_size_runs(self, images: list[np.ndarray]) -> list[list[np.ndarray]]:
        """The images in one run, or, for a frames model (one tensor per batch), in runs of one size."""
        if not self.description.takes_frames:
            return [images] if images else []
        runs: list[list[np.ndarray]] = []
        for image in images:
            if runs and np.shape(image)[:2] == np.shape(runs[-1][-1])[:2]:
                runs[-1].append(image)
            else:
                runs.append([image])
        return runs

    def _predict_chunk(self, images: list[np.ndarray]) -> list[Detections]:
        t0 = time.perf_counter()
        batch, letterboxes = self.prepare(images)
        t1 = time.perf_counter()
        self.model_stages = {}
        outputs = self.infer(batch)
        t2 = time.perf_counter()
        detections = detections_from_padded(outputs, letterboxes, self.description.class_names,
                                            self.description.task)
        t3 = time.perf_counter()
        self.timings = {"pre": t1 - t0, "model": t2 - t1, "post": t3 - t2, **self.model_stages}
        return detections
