"""lsnet.plugins: where the twins module and the TensorRT plugin library are looked for."""
import pytest

from lsnet import plugins
from lsnet.errors import LSNetError


def test_plugin_library_from_environment(tmp_path, monkeypatch):
    library = tmp_path / "liblsnet_trt_plugins.so"
    library.write_bytes(b"")
    monkeypatch.setenv("LSNET_PLUGIN_LIB", str(library))
    assert plugins.find_plugin_library() == library


def test_missing_plugin_library_from_environment_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LSNET_PLUGIN_LIB", str(tmp_path / "nothing.so"))
    with pytest.raises(LSNetError, match="LSNET_PLUGIN_LIB=.*nothing.so is not a file"):
        plugins.find_plugin_library()


def test_unbuilt_twins_name_the_build_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LSNET_TWINS_DIR", str(tmp_path))
    monkeypatch.setattr(plugins, "_BUILD", tmp_path / "no-build")
    monkeypatch.delitem(__import__("sys").modules, plugins.TWINS_MODULE, raising=False)
    with pytest.raises(LSNetError, match=r"not built .* cmake -S \. -B build .* && cmake --build build -j2"):
        plugins.load_twins()
