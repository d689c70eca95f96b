// Error reporting for the plugin classes: their methods are noexcept, so they catch, log through
// the logger TensorRT hands the library (setLoggerFinder), and return a failure status.
#pragma once

#include <NvInferRuntime.h>

namespace lsnet {
namespace trt {

void set_logger_finder(nvinfer1::ILoggerFinder* finder) noexcept;

// To TensorRT's logger when the library was loaded by TensorRT, otherwise to stderr.
void log_error(char const* message) noexcept;

} // namespace trt
} // namespace lsnet
