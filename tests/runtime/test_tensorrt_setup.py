"""`lsnet.runtime.tensorrt_setup`: when the TensorRT bindings cannot create a Builder or Runtime they
raise a bare `TypeError: pybind11::init(): factory function returned nullptr`; the set-up turns it
into one line naming the likely cause and the fix. TensorRT itself is not installed here, so the
bindings' failure is reproduced by a stand-in module that raises exactly what they raise."""
import types

import pytest

from lsnet.errors import LSNetError
from lsnet.runtime import tensorrt_setup
from lsnet.runtime.tensorrt_setup import TensorRTSetup, cannot_create_message, tensorrt_version

BINDINGS_ERROR = "pybind11::init(): factory function returned nullptr"  # docs/toolchain.md


def failing_factory(logger):
    raise TypeError(BINDINGS_ERROR)


def setup_with(driver_version):
    trt = types.SimpleNamespace(__version__="11.4.0.106", Builder=failing_factory, Runtime=failing_factory)
    cuda = types.SimpleNamespace(get_driver_version=lambda: driver_version)
    return TensorRTSetup(trt, cuda, gpu=None, logger=object())


@pytest.mark.parametrize("create, what", [(TensorRTSetup.builder, "Builder"), (TensorRTSetup.runtime, "Runtime")])
def test_a_driver_older_than_tensorrts_cuda_is_named_with_both_fixes(create, what, monkeypatch):
    monkeypatch.setattr(tensorrt_setup, "tensorrt_cuda_major", lambda: 13)
    with pytest.raises(LSNetError) as error:
        create(setup_with(12040))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"TensorRT 11.4.0.106 could not create its {what} ({BINDINGS_ERROR}): ")
    assert "this TensorRT is built for CUDA 13 but this driver runs CUDA up to 12.4" in message
    assert "pip install tensorrt-cu12" in message and "R580 or newer" in message


def test_without_a_known_mismatch_the_usual_causes_are_listed(monkeypatch):
    monkeypatch.setattr(tensorrt_setup, "tensorrt_cuda_major", lambda: None)
    with pytest.raises(LSNetError, match=r"could not create its Builder .*driver too old for this TensorRT's CUDA"
                                         r".*pip install tensorrt-cu12.*no GPU visible.*nvidia-smi"):
        setup_with(13000).builder()


def test_the_message_names_what_is_known_even_when_the_versions_fit():
    message = cannot_create_message("Runtime", "10.3.0.30", BINDINGS_ERROR, (12, 6), 12)
    assert "(this TensorRT is built for CUDA 12; this driver runs CUDA up to 12.6)" in message


def test_other_type_errors_are_not_mistaken_for_this_one():
    def broken(logger):
        raise ValueError("something else")

    trt = types.SimpleNamespace(__version__="10.3.0.30", Builder=broken)
    with pytest.raises(ValueError, match="something else"):
        TensorRTSetup(trt, None, None, object()).builder()


@pytest.mark.parametrize("version, parsed", [("10.3.0.30", (10, 3)), ("11.4.0.106", (11, 4)), ("10.16", (10, 16))])
def test_tensorrt_versions_are_read_as_major_minor(version, parsed):
    assert tensorrt_version(version) == parsed
