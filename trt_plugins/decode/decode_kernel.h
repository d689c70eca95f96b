// Launcher of the LSNetDecode kernels: what the TensorRT plugin calls from getWorkspaceSize()
// and enqueue().
#pragma once

#include "../common/element_type.h"
#include "decode_config.h"
#include "decode_steps.cuh"

#include <cuda_runtime_api.h>

#include <cstddef>

namespace lsnet {
namespace decode {

// Bytes of device workspace for this problem (also enough for any smaller one); throws
// std::runtime_error if CUB cannot size its sort (no usable device).
size_t workspace_size(Config const& config, Problem const& problem);

// inputs: device pointers in plugin order; outputs: device pointers; workspace: at least
// workspace_size(config, problem) bytes. Config and problem must be validated.
cudaError_t launch(ElementType type, Config const& config, Problem const& problem, void const* const* inputs,
    Outputs const& outputs, void* workspace, cudaStream_t stream);

} // namespace decode
} // namespace lsnet
