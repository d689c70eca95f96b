// Per-element math of the pyramid DCN (docs/lsnet-official.md §2.5), shared by the CUDA kernel and the CPU twin:
// where tap k of base-level position (h, w) lands on level l, the bilinear sample there, and the
// (weight, column) elements of the implicit GEMM  out[o, p] = Σ_k A[o, k] · B[k, p].
#pragma once

#include "../common/half_storage.h"
#include "../common/host_device.h"

#include <cstdint>

namespace lsnet {
namespace pyramid_dcn {

constexpr int kTaps = 9; // 3×3, row-major: k = 3·i + j

// Sizes of one call. The input is FPN level l; offsets and output live on the base level's grid.
struct Geometry
{
    int batch;
    int channels;
    int level_height;
    int level_width;
    int out_channels;
    int height;
    int width;
    float scale_h; // σ_h = H_l / H, from the run-time shapes, so dynamic shapes work
    float scale_w;
};

inline Geometry make_geometry(
    int batch, int channels, int level_height, int level_width, int out_channels, int height, int width)
{
    return Geometry{batch, channels, level_height, level_width, out_channels, height, width,
        static_cast<float>(level_height) / static_cast<float>(height),
        static_cast<float>(level_width) / static_cast<float>(width)};
}

// GEMM depth K = 9·C, ordered tap-major (k = tap·C + c) so that consecutive k of a tile mostly
// share one tap and therefore one sampling point per pixel.
LSNET_HD inline int gemm_depth(Geometry const& g)
{
    return kTaps * g.channels;
}

struct SamplePoint
{
    float y;
    float x;
};

// Level-l pixel coordinates of tap k at base position (h, w):
//   y = ((h − 1 + i) + o_y) · σ_h,  x = ((w − 1 + j) + o_x) · σ_w,
// offsets in base-level pixels, (y, x) interleaved per tap (channel 2k = dy, 2k + 1 = dx).
template <typename T>
LSNET_HD inline SamplePoint sampling_point(T const* offset, Geometry const& g, int b, int tap, int h, int w)
{
    int64_t const plane = static_cast<int64_t>(g.height) * g.width;
    T const* dy = offset + (static_cast<int64_t>(b) * 2 * kTaps + 2 * tap) * plane + static_cast<int64_t>(h) * g.width + w;
    float const base_y = static_cast<float>(h - 1 + tap / 3);
    float const base_x = static_cast<float>(w - 1 + tap % 3);
    return SamplePoint{(base_y + to_float(dy[0])) * g.scale_h, (base_x + to_float(dy[plane])) * g.scale_w};
}

// mmcv DCN bilinear rule: 0 unless −1 < y < H and −1 < x < W; corners outside the map count as 0.
// (= grid_sample(align_corners=False, padding_mode='zeros') at these pixel coordinates.)
template <typename T>
LSNET_HD inline float bilinear_sample(T const* plane, int height, int width, float y, float x)
{
    if (!(y > -1.0f && y < static_cast<float>(height) && x > -1.0f && x < static_cast<float>(width)))
        return 0.0f;
    int const y_low = static_cast<int>(floorf(y));
    int const x_low = static_cast<int>(floorf(x));
    int const y_high = y_low + 1;
    int const x_high = x_low + 1;
    float const ly = y - static_cast<float>(y_low);
    float const lx = x - static_cast<float>(x_low);
    float const hy = 1.0f - ly;
    float const hx = 1.0f - lx;
    bool const top = y_low >= 0;
    bool const bottom = y_high <= height - 1;
    bool const left = x_low >= 0;
    bool const right = x_high <= width - 1;
    float const v1 = top && left ? to_float(plane[y_low * width + x_low]) : 0.0f;
    float const v2 = top && right ? to_float(plane[y_low * width + x_high]) : 0.0f;
    float const v3 = bottom && left ? to_float(plane[y_high * width + x_low]) : 0.0f;
    float const v4 = bottom && right ? to_float(plane[y_high * width + x_high]) : 0.0f;
    return hy * hx * v1 + hy * lx * v2 + ly * hx * v3 + ly * lx * v4;
}

// B[k, p]: channel c of the input sampled at tap k's point for output pixel p = h·W + w.
template <typename T>
LSNET_HD inline float column_value(T const* input, T const* offset, Geometry const& g, int b, int k, int pixel)
{
    int const tap = k / g.channels;
    int const c = k % g.channels;
    int const h = pixel / g.width;
    int const w = pixel % g.width;
    SamplePoint const p = sampling_point(offset, g, b, tap, h, w);
    int64_t const level_plane = static_cast<int64_t>(g.level_height) * g.level_width;
    T const* plane = input + (static_cast<int64_t>(b) * g.channels + c) * level_plane;
    return bilinear_sample(plane, g.level_height, g.level_width, p.y, p.x);
}

// A[o, k] = weight[o, c, i, j] with k = tap·C + c, tap = 3·i + j.
template <typename T>
LSNET_HD inline float weight_value(T const* weight, Geometry const& g, int o, int k)
{
    int const tap = k / g.channels;
    int const c = k % g.channels;
    return to_float(weight[(static_cast<int64_t>(o) * g.channels + c) * kTaps + tap]);
}

} // namespace pyramid_dcn
} // namespace lsnet
