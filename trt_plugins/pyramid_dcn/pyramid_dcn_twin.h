// CPU twin of the LSNetPyramidDCN kernel: the same sampling, column, weight and tile functions,
// run in plain loops (tests compare it with torchvision / PyTorch).
#pragma once

#include "pyramid_dcn_sampling.cuh"

namespace lsnet {
namespace pyramid_dcn {

// T = float or Half (FP16 storage, FP32 accumulation, as on the GPU). bias may be null.
template <typename T>
void run_twin(T const* input, T const* offset, T const* weight, T const* bias, T* output, Geometry const& g);

} // namespace pyramid_dcn
} // namespace lsnet
