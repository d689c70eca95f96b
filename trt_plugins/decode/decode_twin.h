// CPU twin of the LSNetDecode kernels: the same element steps (decode_steps.cuh) in plain loops,
// with std::stable_sort where the GPU uses CUB's (stable) radix sort.
#pragma once

#include "decode_config.h"
#include "decode_steps.cuh"

namespace lsnet {
namespace decode {

// inputs: host pointers in plugin order (per level cls_logits_l, vectors_l[, box_vectors_l]),
// all of element type T (float or Half). Config and problem must be validated.
template <typename T>
void run_twin(Config const& config, Problem const& problem, void const* const* inputs, Outputs const& outputs);

} // namespace decode
} // namespace lsnet
