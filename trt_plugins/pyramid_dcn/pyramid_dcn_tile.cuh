// The accumulation body of the pyramid DCN GEMM, shared by the CUDA kernel and the CPU twin:
// one thread's kRows × kCols block of outputs, accumulated in FP32 from K-major A and B
// fragments, then the bias epilogue and the store in the output type.
#pragma once

#include "pyramid_dcn_sampling.cuh"

namespace lsnet {
namespace pyramid_dcn {

// Block tile of the CUDA kernel: 128 output channels × 64 pixels, K in chunks of 8;
// 256 threads, each owning 8 output channels × 4 pixels.
constexpr int kTileOutChannels = 128;
constexpr int kTilePixels = 64;
constexpr int kTileDepth = 8;
constexpr int kThreadOutChannels = 8;
constexpr int kThreadPixels = 4;
constexpr int kThreadsPerTileRow = kTilePixels / kThreadPixels;
constexpr int kTileThreads = (kTileOutChannels / kThreadOutChannels) * kThreadsPerTileRow;

struct ThreadTile
{
    float acc[kThreadOutChannels][kThreadPixels];
};

LSNET_HD inline void clear(ThreadTile& t)
{
    LSNET_UNROLL
    for (int i = 0; i < kThreadOutChannels; ++i)
    {
        LSNET_UNROLL
        for (int j = 0; j < kThreadPixels; ++j)
            t.acc[i][j] = 0.0f;
    }
}

// acc[i][j] += Σ_{k < depth} a[k·a_pitch + i] · b[k·b_pitch + j]: rank-1 updates from
// K-major fragments (A rows = output channels, B columns = pixels).
LSNET_HD inline void accumulate_outer_products(
    ThreadTile& t, float const* a, int a_pitch, float const* b, int b_pitch, int depth)
{
    for (int k = 0; k < depth; ++k)
    {
        float af[kThreadOutChannels];
        float bf[kThreadPixels];
        LSNET_UNROLL
        for (int i = 0; i < kThreadOutChannels; ++i)
            af[i] = a[k * a_pitch + i];
        LSNET_UNROLL
        for (int j = 0; j < kThreadPixels; ++j)
            bf[j] = b[k * b_pitch + j];
        LSNET_UNROLL
        for (int i = 0; i < kThreadOutChannels; ++i)
        {
            LSNET_UNROLL
            for (int j = 0; j < kThreadPixels; ++j)
                t.acc[i][j] += af[i] * bf[j];
        }
    }
}

// out[b, o0 + i, p0 + j] = acc[i][j] + bias[o0 + i], skipping the tile's padding.
template <typename T>
LSNET_HD inline void store_thread_tile(
    ThreadTile const& t, T const* bias, T* output, Geometry const& g, int b, int o0, int p0)
{
    int const pixels = g.height * g.width;
    LSNET_UNROLL
    for (int i = 0; i < kThreadOutChannels; ++i)
    {
        int const o = o0 + i;
        if (o >= g.out_channels)
            break;
        float const bias_o = bias ? to_float(bias[o]) : 0.0f;
        T* row = output + (static_cast<int64_t>(b) * g.out_channels + o) * pixels;
        LSNET_UNROLL
        for (int j = 0; j < kThreadPixels; ++j)
        {
            if (p0 + j < pixels)
                store_float(t.acc[i][j] + bias_o, row + p0 + j);
        }
    }
}

} // namespace pyramid_dcn
} // namespace lsnet
