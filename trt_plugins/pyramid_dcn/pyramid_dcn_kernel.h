// Launcher of the pyramid DCN kernel: what the TensorRT plugin calls from enqueue().
#pragma once

#include "../common/element_type.h"
#include "pyramid_dcn_sampling.cuh"

#include <cuda_runtime_api.h>

namespace lsnet {
namespace pyramid_dcn {

// Device pointers; all of one element type. bias may be null.
struct Tensors
{
    void const* input;  // [B, C, Hl, Wl]
    void const* offset; // [B, 18, H, W]
    void const* weight; // [Cout, C, 3, 3]
    void const* bias;   // [Cout] or null
    void* output;       // [B, Cout, H, W]
};

// Enqueues the fused sample-and-multiply kernel on `stream`; needs no workspace.
cudaError_t launch(ElementType type, Tensors const& tensors, Geometry const& geometry, cudaStream_t stream);

} // namespace pyramid_dcn
} // namespace lsnet
