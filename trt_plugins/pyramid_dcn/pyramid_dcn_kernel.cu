// Pyramid DCN on the GPU as one fused implicit GEMM (see README.md, "GPU algorithm"):
// each block computes a 128 (output channels) × 64 (pixels) tile of out = A · B, where A is the
// weight and B the bilinear samples, produced straight into shared memory, chunk by chunk of K.
// No im2col buffer, no cuBLAS.
#include "pyramid_dcn_kernel.h"
#include "pyramid_dcn_tile.cuh"

namespace lsnet {
namespace pyramid_dcn {
namespace {

constexpr int kWeightsPerThread = kTileOutChannels * kTileDepth / kTileThreads;
constexpr int kSamplesPerThread = kTilePixels * kTileDepth / kTileThreads;
static_assert(kWeightsPerThread * kTileThreads == kTileOutChannels * kTileDepth, "A chunk splits evenly");
static_assert(kSamplesPerThread * kTileThreads == kTilePixels * kTileDepth, "B chunk splits evenly");

// One K-chunk of A and B held in registers between its global loads and its shared-memory store,
// so the next chunk's gathers are in flight while the current chunk is multiplied.
struct Chunk
{
    float weights[kWeightsPerThread];
    float samples[kSamplesPerThread];
};

template <typename T>
__device__ void load_chunk(Chunk& chunk, T const* input, T const* offset, T const* weight, Geometry const& g, int b,
    int o0, int p0, int k0)
{
    int const depth = gemm_depth(g);
    int const pixels = g.height * g.width;
    LSNET_UNROLL
    for (int e = 0; e < kWeightsPerThread; ++e)
    {
        int const element = e * kTileThreads + threadIdx.x;
        int const o = o0 + element % kTileOutChannels;
        int const k = k0 + element / kTileOutChannels;
        chunk.weights[e] = o < g.out_channels && k < depth ? weight_value(weight, g, o, k) : 0.0f;
    }
    LSNET_UNROLL
    for (int e = 0; e < kSamplesPerThread; ++e)
    {
        int const element = e * kTileThreads + threadIdx.x;
        int const pixel = p0 + element % kTilePixels;
        int const k = k0 + element / kTilePixels;
        chunk.samples[e] = pixel < pixels && k < depth ? column_value(input, offset, g, b, k, pixel) : 0.0f;
    }
}

__device__ void store_chunk(Chunk const& chunk, float (*a_tile)[kTileOutChannels], float (*b_tile)[kTilePixels])
{
    LSNET_UNROLL
    for (int e = 0; e < kWeightsPerThread; ++e)
    {
        int const element = e * kTileThreads + threadIdx.x;
        a_tile[element / kTileOutChannels][element % kTileOutChannels] = chunk.weights[e];
    }
    LSNET_UNROLL
    for (int e = 0; e < kSamplesPerThread; ++e)
    {
        int const element = e * kTileThreads + threadIdx.x;
        b_tile[element / kTilePixels][element % kTilePixels] = chunk.samples[e];
    }
}

// grid = (pixel tiles, output-channel tiles, batch). Double-buffered shared tiles: one barrier per chunk.
template <typename T>
__global__ void __launch_bounds__(kTileThreads) pyramid_dcn_kernel(
    T const* input, T const* offset, T const* weight, T const* bias, T* output, Geometry g)
{
    __shared__ float a_tile[2][kTileDepth][kTileOutChannels];
    __shared__ float b_tile[2][kTileDepth][kTilePixels];

    int const b = blockIdx.z;
    int const o0 = blockIdx.y * kTileOutChannels;
    int const p0 = blockIdx.x * kTilePixels;
    int const thread_o = (threadIdx.x / kThreadsPerTileRow) * kThreadOutChannels;
    int const thread_p = (threadIdx.x % kThreadsPerTileRow) * kThreadPixels;
    int const depth = gemm_depth(g);

    ThreadTile tile;
    clear(tile);
    Chunk chunk;
    load_chunk(chunk, input, offset, weight, g, b, o0, p0, 0);
    int buffer = 0;
    for (int k0 = 0; k0 < depth; k0 += kTileDepth, buffer ^= 1)
    {
        store_chunk(chunk, a_tile[buffer], b_tile[buffer]);
        __syncthreads();
        if (k0 + kTileDepth < depth)
            load_chunk(chunk, input, offset, weight, g, b, o0, p0, k0 + kTileDepth);
        accumulate_outer_products(
            tile, &a_tile[buffer][0][thread_o], kTileOutChannels, &b_tile[buffer][0][thread_p], kTilePixels, kTileDepth);
    }
    store_thread_tile(tile, bias, output, g, b, o0 + thread_o, p0 + thread_p);
}

template <typename T>
cudaError_t launch_typed(Tensors const& t, Geometry const& g, cudaStream_t stream)
{
    if (g.batch == 0)
        return cudaSuccess;
    dim3 const grid(ceil_div(g.height * g.width, kTilePixels), ceil_div(g.out_channels, kTileOutChannels), g.batch);
    pyramid_dcn_kernel<T><<<grid, kTileThreads, 0, stream>>>(static_cast<T const*>(t.input),
        static_cast<T const*>(t.offset), static_cast<T const*>(t.weight), static_cast<T const*>(t.bias),
        static_cast<T*>(t.output), g);
    return cudaGetLastError();
}

} // namespace

cudaError_t launch(ElementType type, Tensors const& tensors, Geometry const& geometry, cudaStream_t stream)
{
    switch (type)
    {
    case ElementType::kFloat32: return launch_typed<float>(tensors, geometry, stream);
    case ElementType::kFloat16: return launch_typed<Half>(tensors, geometry, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace pyramid_dcn
} // namespace lsnet
