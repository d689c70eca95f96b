"""TensorRT backend: an `.engine` written by `lsnet export engine`, with its sidecar (docs/architecture.md §5).

Loading reads the sidecar first (`lsnet.runtime.engine_metadata`): the model description, and
the TensorRT release, GPU architecture and plugin library the engine needs, checked against this
machine before TensorRT sees the file. Then the plugin library is loaded and the engine
deserialised.

Execution uses TensorRT 10's tensor-address API only — `set_input_shape`, `set_tensor_address`,
`execute_async_v3` — on explicit-batch engines:
- each execution context has its own CUDA stream and its own pinned host and device buffers,
  sized once for the profile's largest shapes, so a new input shape only sets the shape and uses
  a prefix of each buffer (nothing is re-allocated, addresses stay bound);
- a call copies host → device, enqueues, copies device → host, all asynchronously on that
  stream, and synchronises once;
- `contexts=N` keeps N execution contexts in a pool, so N threads run the engine concurrently;
  a dynamic engine needs one optimisation profile per concurrent context (TensorRT's rule),
  built with `lsnet export engine … --contexts N`;
- `cuda_graph=True` captures a static engine's enqueue once and replays it (`cuda_graph.py`);
- a frames engine (`lsnet export onnx --frames`) takes the uint8 frames as they are: they are
  copied into the pinned uint8 buffer and sent to the GPU at one byte per value (a quarter of
  the float32 canvas's bytes at the same size), and the letterbox runs on the GPU.

TensorRT, pycuda and the GPU are opened together when an engine is loaded (`TensorRTSetup`),
never at import time.
"""
from __future__ import annotations

import hashlib
import queue
import sys
from pathlib import Path

import numpy as np

from lsnet.errors import LSNetError
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES
from lsnet.runtime.detector import Detector
from lsnet.runtime.engine_metadata import EngineMetadata, Machine, check_engine_fits, read_sidecar, sha256_file
from lsnet.runtime.tensorrt_setup import TensorRTSetup


def context_profiles(contexts: int, dynamic: bool, profiles: int) -> list[int]:
    """The optimisation profile each execution context uses."""
    if contexts < 1:
        raise LSNetError(f"contexts must be ≥ 1, got {contexts}")
    if not dynamic:
        return [0] * contexts
    if contexts > profiles:
        raise LSNetError(f"{contexts} concurrent contexts of a dynamic engine need {contexts} optimisation profiles and "
                         f"this engine has {profiles}; rebuild it with `lsnet export engine … --contexts {contexts}`")
    return list(range(contexts))


def canvas_in_profile(canvas_hw: tuple[int, int], min_hw: tuple[int, int], max_hw: tuple[int, int]) -> tuple[int, int]:
    """The canvas raised to the profile's minimum (padding more is harmless); LSNetError above its maximum."""
    if canvas_hw[0] > max_hw[0] or canvas_hw[1] > max_hw[1]:
        raise LSNetError(f"canvas {canvas_hw[0]}×{canvas_hw[1]} exceeds the engine's largest input "
                         f"{max_hw[0]}×{max_hw[1]}; rebuild it with a larger --max-imgsz")
    return max(canvas_hw[0], min_hw[0]), max(canvas_hw[1], min_hw[1])


def frame_in_profile(frame_hw: tuple[int, int], min_hw: tuple[int, int], max_hw: tuple[int, int]) -> None:
    """LSNetError unless a frames engine's profile takes frames of this size."""
    if not (min_hw[0] <= frame_hw[0] <= max_hw[0] and min_hw[1] <= frame_hw[1] <= max_hw[1]):
        raise LSNetError(f"a {frame_hw[1]}×{frame_hw[0]} frame is outside the engine's frame sizes "
                         f"{min_hw[1]}×{min_hw[0]} … {max_hw[1]}×{max_hw[0]} (width×height); rebuild it with "
                         "`lsnet export engine … --dynamic --min-imgsz H W --max-imgsz H W`")


def plugin_library_for(metadata: EngineMetadata, plugins: str | Path | None) -> Path | None:
    """Our plugin library if the engine uses it: `plugins`, else `lsnet.plugins.find_plugin_library()`."""
    if metadata.plugin_library is None:
        return None
    if plugins is not None:
        if not Path(plugins).is_file():
            raise LSNetError(f"plugin library {plugins} not found")
        return Path(plugins)
    from lsnet.plugins import find_plugin_library

    return find_plugin_library()


class _ExecutionSlot:
    """One execution context with its stream and buffers; used by one thread at a time."""

    def __init__(self, trt, cuda, engine, profile: int, input_name: str, max_shape: tuple[int, ...],
                 cuda_graph: bool):
        self.cuda, self.input_name = cuda, input_name
        self.context = engine.create_execution_context()
        self.stream = cuda.Stream()
        if engine.num_optimization_profiles > 1 and not self.context.set_optimization_profile_async(
                profile, self.stream.handle):
            raise LSNetError(f"TensorRT could not select optimisation profile {profile}")
        self._set_shape(max_shape)
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self.outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.host, self.device = {}, {}
        for name in names:
            size = int(np.prod(self.context.get_tensor_shape(name)))
            self.host[name] = cuda.pagelocked_empty(size, trt.nptype(engine.get_tensor_dtype(name)))
            self.device[name] = cuda.mem_alloc(max(self.host[name].nbytes, 1))
            self.context.set_tensor_address(name, int(self.device[name]))
        self.shape = tuple(max_shape)
        self.graph = None
        if cuda_graph:
            from lsnet.runtime.backends.cuda_graph import CudaGraph

            self._enqueue(self.stream.handle)  # TensorRT's deferred set-up happens outside the capture
            self.stream.synchronize()
            self.graph = CudaGraph(self._enqueue, self.stream.handle)

    def _set_shape(self, shape: tuple[int, ...]) -> None:
        if not self.context.set_input_shape(self.input_name, shape):
            raise LSNetError(f"the engine does not accept an input of shape {shape} (outside its profile)")

    def _enqueue(self, stream_handle: int) -> None:
        if not self.context.execute_async_v3(stream_handle):
            raise LSNetError("TensorRT could not run the engine (see TensorRT's message above)")

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if batch.shape != self.shape:
            self._set_shape(batch.shape)
            self.shape = batch.shape
        host_input = self.host[self.input_name][:batch.size].reshape(batch.shape)
        np.copyto(host_input, batch, casting="same_kind")
        self.cuda.memcpy_htod_async(self.device[self.input_name], host_input, self.stream)
        if self.graph is not None:
            self.graph.launch(self.stream.handle)
        else:
            self._enqueue(self.stream.handle)
        results = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            results[name] = self.host[name][:int(np.prod(shape))].reshape(shape)
            self.cuda.memcpy_dtoh_async(results[name], self.device[name], self.stream)
        self.stream.synchronize()
        return {name: value.copy() for name, value in results.items()}  # the pinned buffers are reused


class TensorRTDetector(Detector):
    backend = "tensorrt"

    def __init__(self, engine, metadata: EngineMetadata, setup: TensorRTSetup, contexts: int = 1,
                 cuda_graph: bool = False):
        profile = metadata.profiles[0]
        self.min_shape, self.max_shape = tuple(profile["min"]), tuple(profile["max"])
        self.frames = metadata.description.takes_frames
        # (H, W) of the profile's smallest and largest input: canvases [B, 3, H, W] or frames [B, H, W, 3]
        self.min_hw, self.max_hw = (self.min_shape[1:3], self.max_shape[1:3]) if self.frames else \
            (self.min_shape[2:], self.max_shape[2:])
        dynamic_size = not self.frames and self.min_hw != self.max_hw  # a frames engine's canvas is fixed
        super().__init__(metadata.description, dynamic=dynamic_size, max_batch=self.max_shape[0],
                         fixed_batch=self.min_shape[0] == self.max_shape[0])
        if cuda_graph and self.min_shape != self.max_shape:
            raise LSNetError("cuda_graph needs a static engine (one input shape); build one without --dynamic")
        self.metadata, self.engine, self.setup = metadata, engine, setup
        self.export_info = {**metadata.export, **metadata.build}
        self._slots: queue.Queue[_ExecutionSlot] = queue.Queue()
        with setup.current():
            for index in context_profiles(contexts, self.min_shape != self.max_shape, len(metadata.profiles)):
                self._slots.put(_ExecutionSlot(setup.trt, setup.cuda, engine, index, profile["input"], self.max_shape,
                                               cuda_graph))

    @classmethod
    def from_file(cls, path: str, device: str | int = "cuda", contexts: int = 1, cuda_graph: bool = False,
                  plugins: str | None = None) -> "TensorRTDetector":
        """`contexts`: execution contexts for that many threads; `cuda_graph`: replay static engines
        as CUDA graphs; `plugins`: liblsnet_trt_plugins.so (default: `lsnet.plugins.find_plugin_library`)."""
        metadata = read_sidecar(path)
        setup = TensorRTSetup.open(device)
        library = plugin_library_for(metadata, plugins)
        data = Path(path).read_bytes()
        machine = Machine(setup.version, setup.gpu.name, setup.gpu.compute_capability,
                          str(library) if library else None, sha256_file(library) if library else None)
        for warning in check_engine_fits(metadata, path, machine, hashlib.sha256(data).hexdigest()):
            print(f"warning: {warning}", file=sys.stderr)
        with setup.current():  # TensorRT's runtime calls bind to the current context: this GPU's
            setup.load_plugins(library)
            engine = setup.runtime().deserialize_cuda_engine(data)
        if engine is None:
            raise LSNetError(f"TensorRT could not deserialise {path} (see TensorRT's message above); rebuild it with "
                             f"`{metadata.rebuild_command}`")
        return cls(engine, metadata, setup, contexts, cuda_graph)

    def canvas_for(self, images) -> tuple[int, int]:
        if self.frames:
            return tuple(self.description.input_size)
        if not self.dynamic:
            return tuple(self.max_hw)
        return canvas_in_profile(super().canvas_for(images), self.min_hw, self.max_hw)

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        count = len(batch)
        if self.frames:
            frame_in_profile(batch.shape[1:3], self.min_hw, self.max_hw)
        batch = self.fit_batch(batch)
        slot = self._slots.get()  # blocks while every context is busy in other threads
        try:
            with self.setup.current():
                outputs = slot.run(np.ascontiguousarray(batch))
        finally:
            self._slots.put(slot)
        return {name: outputs[name][:count] for name in PADDED_OUTPUT_NAMES}
