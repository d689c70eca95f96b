"""Real TensorRT and a real GPU, or a skip with the reason (docs/toolchain.md: `tensorrt-stubs` is not
TensorRT, so availability is decided by `import_tensorrt`, which checks the version and a Builder).

The CPU-side tests of the same modules live beside the others (tests/export, tests/runtime); this
folder holds what needs TensorRT on a GPU. (It is not named `tensorrt`: with tests/ on sys.path, a
folder of that name imports as an empty `tensorrt` package where TensorRT is not installed.)
"""
from pathlib import Path

import pytest
from engine_fixtures import COMMITTED_MODEL, REPO

from lsnet.errors import LSNetError
from lsnet.runtime.tensorrt_setup import import_pycuda, import_tensorrt, open_gpu


@pytest.fixture(scope="session")
def tensorrt():
    try:
        return import_tensorrt()
    except LSNetError as e:
        pytest.skip(f"needs TensorRT: {e}")


@pytest.fixture(scope="session")
def gpu(tensorrt):
    """The first GPU (pycuda), after TensorRT."""
    try:
        return open_gpu(import_pycuda(), 0)
    except LSNetError as e:
        pytest.skip(f"needs an NVIDIA GPU with pycuda: {e}")


@pytest.fixture(scope="session")
def committed_model() -> Path:
    if not COMMITTED_MODEL.is_file():
        pytest.skip(f"the committed model {COMMITTED_MODEL.relative_to(REPO)} is not in the repository yet")
    return COMMITTED_MODEL
