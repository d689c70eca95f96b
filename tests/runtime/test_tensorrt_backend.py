"""The TensorRT backend's parts that need no GPU: imports without TensorRT, the errors where TensorRT
or a GPU is missing, real-TensorRT detection, the pool and canvas rules, and a source check that
only TensorRT 10's tensor-address API is used."""
import re
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_fixtures import REPO, fabricated_engine, fabricated_metadata, tensorrt_missing

from lsnet.cli import main
from lsnet.errors import LSNetError
from lsnet import plugins as lsnet_plugins
from lsnet.export import plugin_nodes
from lsnet.runtime import load, tensorrt_setup
from lsnet.runtime.backends.tensorrt_backend import (canvas_in_profile, context_profiles, frame_in_profile,
                                                    plugin_library_for)
from lsnet.runtime.tensorrt_setup import cuda_device_index, import_tensorrt

needs_no_tensorrt = pytest.mark.skipif(tensorrt_missing() is None, reason="TensorRT is installed here")

# Every file that calls TensorRT's Python API.
TENSORRT_SOURCES = ["runtime/backends/tensorrt_backend.py", "runtime/tensorrt_setup.py",
                    "runtime/backends/cuda_graph.py", "export/engine.py", "export/calibration.py"]
# Removed or deprecated in TensorRT 10: binding indices, implicit batch, the old execute calls,
# the workspace setter replaced by memory pools, the flag every network has now.
DEPRECATED_API = [r"execute_async_v2", r"execute_v2", r"\bexecute_async\(", r"get_binding_", r"binding_is_input",
                  r"num_bindings", r"max_batch_size\s*=", r"max_workspace_size", r"EXPLICIT_BATCH",
                  r"build_engine\(\s*network", r"set_binding_shape", r"IPluginV2"]


def test_lsnet_runtime_and_the_tensorrt_backend_import_without_torch_and_tensorrt():
    blocked = "import sys; sys.modules.update(torch=None, tensorrt=None, pycuda=None); "
    code = blocked + ("import lsnet.runtime, lsnet.runtime.backends.tensorrt_backend, lsnet.runtime.engine_metadata, "
                      "lsnet.runtime.compare; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize("source", TENSORRT_SOURCES)
def test_tensorrt_calls_use_only_the_tensorrt_10_api(source):
    text = (REPO / source).read_text()
    for pattern in DEPRECATED_API:
        assert not re.search(pattern, text), f"{source} uses {pattern}"


def test_the_execution_path_uses_the_tensor_address_api():
    text = (REPO / "runtime/backends/tensorrt_backend.py").read_text()
    for call in ("set_input_shape", "set_tensor_address", "execute_async_v3", "num_io_tensors", "get_tensor_name",
                 "get_tensor_mode", "pagelocked_empty", "memcpy_htod_async", "memcpy_dtoh_async"):
        assert call in text, call


def test_tensorrt_and_pycuda_are_imported_lazily():
    for source in TENSORRT_SOURCES:
        top_level = [line for line in (REPO / source).read_text().splitlines() if line.startswith(("import", "from"))]
        assert not [line for line in top_level if re.search(r"\b(tensorrt|pycuda|cuda)\b(?!_)", line)
                    and "lsnet." not in line], source


def test_plugin_identity_in_python_matches_the_cpp_creators():
    """The names the patch writes and the runtime checks are the ones the C++ creators register."""
    plugins_dir = Path(__file__).resolve().parents[2] / "trt_plugins"
    constants = {}
    for header in plugins_dir.rglob("*.h"):
        for name, value in re.findall(r'constexpr char const\* (kPlugin\w+) = "([^"]+)"', header.read_text()):
            constants.setdefault(name, set()).add(value)
    assert constants["kPluginName"] == {lsnet_plugins.PYRAMID_DCN_PLUGIN, lsnet_plugins.DECODE_PLUGIN}
    assert constants["kPluginNamespace"] == {lsnet_plugins.PLUGIN_NAMESPACE}
    assert constants["kPluginVersion"] == {lsnet_plugins.PLUGIN_VERSION}
    assert set(tensorrt_setup.PLUGIN_CREATORS) == {plugin_nodes.PYRAMID_DCN_OP, plugin_nodes.DECODE_OP}


def test_tensorrt_stubs_are_not_taken_for_tensorrt(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))  # what tensorrt-stubs alone gives
    with pytest.raises(LSNetError, match="TensorRT is not installed here .*has no version or Builder, e.g. tensorrt-stubs"):
        import_tensorrt()


def test_tensorrt_older_than_10_is_refused(monkeypatch):
    old = types.ModuleType("tensorrt")
    old.__version__, old.Builder = "8.6.1", object
    monkeypatch.setitem(sys.modules, "tensorrt", old)
    with pytest.raises(LSNetError, match="TensorRT 8.6.1 is too old: lsnet needs TensorRT 10 or newer"):
        import_tensorrt()


@needs_no_tensorrt
def test_loading_an_engine_without_tensorrt_says_to_install_it_or_use_onnx(tmp_path):
    with pytest.raises(LSNetError, match=r"^TensorRT is not installed here .* use the \.onnx with ONNX Runtime instead"):
        load(fabricated_engine(tmp_path))


@needs_no_tensorrt
def test_infer_on_an_engine_without_tensorrt_is_a_one_line_error(tmp_path, capsys):
    image = tmp_path / "image.png"
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))
    assert main(["infer", str(fabricated_engine(tmp_path)), str(image), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: TensorRT is not installed here") and err.count("\n") == 1


def test_an_engine_without_its_sidecar_is_refused_before_tensorrt_is_needed(tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"x")
    with pytest.raises(LSNetError, match="has no sidecar model.engine.json"):
        load(engine)


@pytest.mark.parametrize("device, index", [(None, 0), ("cuda", 0), ("cuda:1", 1), (2, 2)])
def test_cuda_devices_are_read_from_the_usual_spellings(device, index):
    assert cuda_device_index(device) == index


@pytest.mark.parametrize("device", ["cpu", "gpu", "cuda:x", -1])
def test_non_cuda_devices_are_refused(device):
    with pytest.raises(LSNetError, match="TensorRT runs on a CUDA GPU"):
        cuda_device_index(device)


def test_static_engines_share_their_profile_between_contexts():
    assert context_profiles(3, dynamic=False, profiles=1) == [0, 0, 0]


def test_dynamic_engines_need_a_profile_per_context():
    assert context_profiles(2, dynamic=True, profiles=2) == [0, 1]
    with pytest.raises(LSNetError, match=r"3 concurrent contexts .* need 3 optimisation profiles .* --contexts 3"):
        context_profiles(3, dynamic=True, profiles=2)
    with pytest.raises(LSNetError, match="contexts must be ≥ 1"):
        context_profiles(0, dynamic=False, profiles=1)


def test_small_canvases_are_padded_up_to_the_profile_minimum():
    assert canvas_in_profile((32, 480), (64, 64), (512, 512)) == (64, 480)
    with pytest.raises(LSNetError, match="exceeds the engine's largest input 512×512"):
        canvas_in_profile((544, 480), (64, 64), (512, 512))


def test_a_frames_engine_takes_frames_inside_its_profile_only():
    frame_in_profile((720, 1280), (32, 32), (2160, 3840))
    frame_in_profile((2160, 3840), (32, 32), (2160, 3840))
    with pytest.raises(LSNetError, match=r"a 4096×2160 frame is outside the engine's frame sizes 32×32 … 3840×2160 "
                                         r"\(width×height\); rebuild it with .*--max-imgsz"):
        frame_in_profile((2160, 4096), (32, 32), (2160, 3840))
    with pytest.raises(LSNetError, match="outside the engine's frame sizes"):
        frame_in_profile((16, 64), (32, 32), (2160, 3840))


def test_the_plugin_library_is_looked_up_only_for_engines_with_plugin_layers(tmp_path, monkeypatch):
    assert plugin_library_for(fabricated_metadata(plugins=False), None) is None
    library = tmp_path / "liblsnet_trt_plugins.so"
    library.write_bytes(b"")
    assert plugin_library_for(fabricated_metadata(), library) == library
    with pytest.raises(LSNetError, match="plugin library .*missing.so not found"):
        plugin_library_for(fabricated_metadata(), tmp_path / "missing.so")
    monkeypatch.setenv("LSNET_PLUGIN_LIB", str(library))
    assert plugin_library_for(fabricated_metadata(), None) == Path(library)


def test_missing_pycuda_says_how_to_install_it():
    from importlib.util import find_spec

    from lsnet.runtime.tensorrt_setup import import_pycuda

    if find_spec("pycuda") is not None:
        pytest.skip("pycuda is installed here")
    with pytest.raises(LSNetError, match=r"pycuda does not import here .*pip install 'lsnet-trt\[tensorrt\]'"):
        import_pycuda()
