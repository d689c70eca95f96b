"""The plugin sources use only the TensorRT 10+ IPluginV3 API (docs/architecture.md §4); V2 is deprecated."""
import re
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "trt_plugins"
SOURCES = sorted(p for p in PLUGINS.rglob("*") if p.suffix in {".h", ".cpp", ".cu", ".cuh"})
DEPRECATED = re.compile(r"\bIPluginV2\w*|\bIPluginCreator\b|\bIPluginFactory\w*|\bIPluginExt\b|\bIPlugin\b")


def test_no_deprecated_plugin_api_in_sources():
    assert SOURCES, f"no sources under {PLUGINS}"
    hits = [f"{p.relative_to(PLUGINS)}:{n}: {line.strip()}"
            for p in SOURCES for n, line in enumerate(p.read_text().splitlines(), start=1) if DEPRECATED.search(line)]
    assert not hits, "deprecated TensorRT plugin API:\n" + "\n".join(hits)


def test_both_plugins_are_ipluginv3_with_v3_creators():
    """Both derive from the shared base, which implements the V3 interfaces and the V3 creator."""
    base = (PLUGINS / "common" / "plugin_base.h").read_text()
    for interface in ("IPluginV3", "IPluginV3OneCore", "IPluginV3OneBuild", "IPluginV3OneRuntime",
                      "IPluginCreatorV3One"):
        assert f"public nvinfer1::{interface}" in base, interface
    for source, plugin in (("pyramid_dcn/pyramid_dcn_plugin.cpp", "PyramidDcnPlugin"),
                           ("decode/decode_plugin.cpp", "DecodePlugin")):
        text = (PLUGINS / source).read_text()
        assert f"class {plugin} final : public PluginBase<{plugin}>" in text, source
        assert f"static PluginCreator<{plugin}> creator;" in text, source


def test_library_exports_the_loader_entry_points():
    text = (PLUGINS / "library" / "plugin_library.cpp").read_text()
    assert re.search(r'extern "C" LSNET_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface\* const\* getCreators\(', text)
    assert re.search(r'extern "C" LSNET_PLUGIN_EXPORT void setLoggerFinder\(', text)
