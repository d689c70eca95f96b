"""One TensorRT enqueue captured as a CUDA graph and replayed (static-shape engines only).

A replay launches the whole engine with one call instead of one per kernel, which matters for
small inputs and on Jetson, where the CPU side of the launches is a visible share of the frame.
The graph freezes the device addresses and shapes it was captured with: the TensorRT backend
captures after its buffers are bound and only for engines whose input shape cannot change.

pycuda's releases have no stream-capture API, so the capture goes through cuda-python's driver
bindings, on pycuda's stream handle (both drive the same CUDA context).
"""
from __future__ import annotations

from collections.abc import Callable

from lsnet.errors import LSNetError


def driver_bindings():
    """cuda-python's driver API module; LSNetError saying how to install it."""
    try:
        from cuda.bindings import driver  # cuda-python ≥ 12.6
    except ImportError:
        try:
            from cuda import cuda as driver  # older cuda-python
        except ImportError:
            raise LSNetError("CUDA graphs need cuda-python: pip install cuda-python (or run without cuda_graph)") from None
    return driver


class CudaGraph:
    def __init__(self, enqueue: Callable[[int], None], stream_handle: int):
        """Captures `enqueue(stream_handle)`; TensorRT must have run it once uncaptured before,
        so that its deferred set-up (allocations, shape-dependent work) is not captured."""
        self.driver = driver_bindings()
        stream = self.driver.CUstream(stream_handle)
        self._check(self.driver.cuStreamBeginCapture(stream,
                                                     self.driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL))
        try:
            enqueue(stream_handle)
        finally:  # always end the capture, or the stream stays unusable
            graph = self._check(self.driver.cuStreamEndCapture(stream))
        self.executable = self._check(self.driver.cuGraphInstantiate(graph, 0))

    def launch(self, stream_handle: int) -> None:
        self._check(self.driver.cuGraphLaunch(self.executable, self.driver.CUstream(stream_handle)))

    def _check(self, result):
        error, *values = result if isinstance(result, tuple) else (result,)
        if error != self.driver.CUresult.CUDA_SUCCESS:
            name = self.driver.cuGetErrorName(error)[1]
            raise LSNetError(f"CUDA graph capture or launch failed ({name.decode() if isinstance(name, bytes) else name}); "
                             "run without cuda_graph")
        return values[0] if values else None
