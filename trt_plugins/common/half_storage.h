// FP16 storage with FP32 math. On the GPU the storage type is CUDA's __half; the CPU twins
// use HostHalf, the same IEEE binary16 bits converted in software (round to nearest even, as
// __float2half_rn), so a twin can emulate the plugin's FP16 path exactly.
#pragma once

#include "host_device.h"

#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#endif

namespace lsnet {

#ifdef __CUDACC__
using Half = __half;

LSNET_HD inline float to_float(Half v)
{
    return __half2float(v);
}

LSNET_HD inline void store_float(float v, Half* out)
{
    *out = __float2half_rn(v);
}
#else
struct HostHalf
{
    uint16_t bits;
};
using Half = HostHalf;

inline uint16_t float_to_half_bits(float value)
{
    uint32_t x;
    std::memcpy(&x, &value, sizeof x);
    uint16_t const sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    uint32_t const magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) // NaN: keep it quiet and keep the top payload bits
        return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    if (magnitude >= 0x477ff000u) // >= 65520 rounds to infinity
        return static_cast<uint16_t>(sign | 0x7c00u);
    if (magnitude < 0x38800000u) // below 2^-14: subnormal half, an integer multiple of 2^-24
    {
        float scaled;
        uint32_t const m = magnitude;
        std::memcpy(&scaled, &m, sizeof scaled);
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled * 16777216.0f)));
    }
    uint32_t const rebiased = magnitude - (112u << 23);
    uint32_t const round_to_even = 0x0fffu + ((rebiased >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rebiased + round_to_even) >> 13));
}

inline float half_bits_to_float(uint16_t h)
{
    uint32_t const sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t const exponent = (h >> 10) & 0x1fu;
    uint32_t const mantissa = h & 0x3ffu;
    if (exponent == 0) // zero or subnormal: exact in float
    {
        float const v = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    uint32_t const bits = exponent == 31 ? sign | 0x7f800000u | (mantissa << 13)
                                         : sign | ((exponent + 112u) << 23) | (mantissa << 13);
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

inline float to_float(Half v)
{
    return half_bits_to_float(v.bits);
}

inline void store_float(float v, Half* out)
{
    out->bits = float_to_half_bits(v);
}
#endif

LSNET_HD inline float to_float(float v)
{
    return v;
}

LSNET_HD inline void store_float(float v, float* out)
{
    *out = v;
}

} // namespace lsnet
