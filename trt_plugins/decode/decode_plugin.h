// LSNetDecode for TensorRT (README.md): the IPluginV3 adapter of the decode kernels, defined in
// decode_plugin.cpp over ../common/plugin_base.h; the math is in decode_math.cuh / decode_nms.cuh.
#pragma once

#include <NvInferRuntime.h>

namespace lsnet {
namespace trt {

// The creator of LSNetDecode (namespace "lsnet", version "1"), for the library's getCreators().
nvinfer1::IPluginCreatorV3One* decode_plugin_creator();

} // namespace trt
} // namespace lsnet
