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
    for header in ("pyramid_dcn/pyramid_dcn_plugin.h", "decode/decode_plugin.h"):
        text = (PLUGINS / header).read_text()
        for interface in ("IPluginV3", "IPluginV3OneCore", "IPluginV3OneBuild", "IPluginV3OneRuntime",
                          "IPluginCreatorV3One"):
            assert f"public nvinfer1::{interface}" in text, (header, interface)


def test_library_exports_the_loader_entry_points():
    text = (PLUGINS / "common" / "plugin_library.cpp").read_text()
    assert re.search(r'extern "C" LSNET_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface\* const\* getCreators\(', text)
    assert re.search(r'extern "C" LSNET_PLUGIN_EXPORT void setLoggerFinder\(', text)
