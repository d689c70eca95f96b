#include "pyramid_dcn_twin.h"
#include "pyramid_dcn_tile.cuh"

#include <vector>

namespace lsnet {
namespace pyramid_dcn {

template <typename T>
void run_twin(T const* input, T const* offset, T const* weight, T const* bias, T* output, Geometry const& g)
{
    int const depth = gemm_depth(g);
    int const pixels = g.height * g.width;
    // K-major A and B padded to whole thread tiles, zero-filled like the kernel's out-of-range loads.
    int const a_pitch = ceil_div(g.out_channels, kThreadOutChannels) * kThreadOutChannels;
    int const b_pitch = ceil_div(pixels, kThreadPixels) * kThreadPixels;
    std::vector<float> a(static_cast<size_t>(depth) * a_pitch, 0.0f);
    for (int k = 0; k < depth; ++k)
    {
        for (int o = 0; o < g.out_channels; ++o)
            a[static_cast<size_t>(k) * a_pitch + o] = weight_value(weight, g, o, k);
    }
    std::vector<float> columns(static_cast<size_t>(depth) * b_pitch, 0.0f);
    for (int b = 0; b < g.batch; ++b)
    {
        for (int k = 0; k < depth; ++k)
        {
            for (int p = 0; p < pixels; ++p)
                columns[static_cast<size_t>(k) * b_pitch + p] = column_value(input, offset, g, b, k, p);
        }
        for (int o0 = 0; o0 < g.out_channels; o0 += kThreadOutChannels)
        {
            for (int p0 = 0; p0 < pixels; p0 += kThreadPixels)
            {
                ThreadTile tile;
                clear(tile);
                accumulate_outer_products(tile, &a[o0], a_pitch, &columns[p0], b_pitch, depth);
                store_thread_tile(tile, bias, output, g, b, o0, p0);
            }
        }
    }
}

template void run_twin<float>(float const*, float const*, float const*, float const*, float*, Geometry const&);
template void run_twin<Half>(Half const*, Half const*, Half const*, Half const*, Half*, Geometry const&);

} // namespace pyramid_dcn
} // namespace lsnet
