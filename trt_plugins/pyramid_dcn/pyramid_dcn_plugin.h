// LSNetPyramidDCN for TensorRT (README.md): the IPluginV3 adapter of the pyramid DCN kernel,
// defined in pyramid_dcn_plugin.cpp over ../common/plugin_base.h; the math is in
// pyramid_dcn_sampling.cuh / pyramid_dcn_tile.cuh.
#pragma once

#include <NvInferRuntime.h>

namespace lsnet {
namespace trt {

// The creator of LSNetPyramidDCN (namespace "lsnet", version "1"), for the library's getCreators().
nvinfer1::IPluginCreatorV3One* pyramid_dcn_plugin_creator();

} // namespace trt
} // namespace lsnet
