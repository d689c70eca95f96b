"""PyTorch backend: a `.pt` checkpoint (or a model in memory, e.g. during training)."""
from __future__ import annotations

import re
import time
from contextlib import contextmanager

import numpy as np
import torch

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.runtime.detector import Detector


def torch_device(name: str) -> torch.device:
    """"auto", "cpu", "cuda" or "cuda:N" as a device that exists on this machine (LSNetError
    otherwise); shared by the PyTorch backend and the trainer."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    match = re.fullmatch(r"(cpu|cuda)(?::(\d+))?", str(name))
    if not match or (match[1] == "cpu" and match[2]):
        raise LSNetError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    if match[1] == "cuda":
        if not torch.cuda.is_available():
            raise LSNetError(f"device {name} requested but PyTorch sees no CUDA GPU here; use cpu")
        if match[2] and int(match[2]) >= torch.cuda.device_count():
            raise LSNetError(f"device {name} requested but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)


class TorchDetector(Detector):
    backend = "pytorch"

    def __init__(self, model, description: ModelDescription, device: str = "cpu"):
        super().__init__(description, dynamic=True)
        self.device = torch_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def from_checkpoint(cls, path: str, device: str = "cpu", threads: int = 0) -> "TorchDetector":
        """`threads` > 0 sets torch's intra-op threads (process-wide: torch has one pool)."""
        from lsnet.model.checkpoint import load_model

        if threads > 0:
            torch.set_num_threads(threads)
        model, description = load_model(path)
        return cls(model, description, device)

    from_file = from_checkpoint  # the constructor `lsnet.runtime.load` calls

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        images = torch.from_numpy(batch).to(self.device)
        start = time.perf_counter()
        with self._timed_forward() as forward:
            out = self.model.predict_padded(images, self.description)
        self.model_stages = {"decode": time.perf_counter() - start - forward["seconds"]}
        return {k: v.cpu().numpy() for k, v in out.items()}

    @contextmanager
    def _timed_forward(self):
        """Times the network's forward inside `predict_padded`, so decode + NMS is the rest.

        Hooks for the duration of one call only: the trainer hands its own model to this class.
        """
        forward = {"seconds": 0.0}

        def started(module, args):
            forward["start"] = time.perf_counter()

        def finished(module, args, output):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            forward["seconds"] = time.perf_counter() - forward["start"]

        handles = (self.model.register_forward_pre_hook(started), self.model.register_forward_hook(finished))
        try:
            yield forward
        finally:
            for handle in handles:
                handle.remove()
