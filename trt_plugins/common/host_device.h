// Macros that let one header hold the per-element math for both compilers: nvcc builds it
// into the kernels, g++ into the CPU twins (docs/architecture.md §4: same source on CPU and GPU).
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define LSNET_HD __host__ __device__
#else
#define LSNET_HD
#endif

// Unroll hint for the device pass only (the host passes of nvcc and g++ would warn).
#ifdef __CUDA_ARCH__
#define LSNET_UNROLL _Pragma("unroll")
#else
#define LSNET_UNROLL
#endif

namespace lsnet {

// Rounded product and sum that nvcc may not fuse into an FMA. The decode keeps every
// geometric value bit-identical to the PyTorch reference this way (the twins build with
// -ffp-contract=off for the same reason).
LSNET_HD inline float mul_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

LSNET_HD inline float add_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

LSNET_HD inline float sub_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

LSNET_HD inline int min_int(int a, int b)
{
    return a < b ? a : b;
}

LSNET_HD inline int ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

} // namespace lsnet
