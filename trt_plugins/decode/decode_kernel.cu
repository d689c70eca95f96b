// LSNetDecode on the GPU (see README.md, "GPU algorithm"): one grid-stride kernel per element
// step of decode_steps.cuh, two stable CUB radix sorts of 64-bit (segment, score) keys for the
// per-level top-k and the candidate order, a 64 × 64-tiled suppression-mask kernel and a
// one-block-per-image greedy scan. All scratch lives in the TensorRT workspace.
#include "../common/grid_stride.cuh"
#include "decode_kernel.h"
#include "decode_params.h"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace lsnet {
namespace decode {
namespace {

#define LSNET_RETURN_IF_ERROR(call)                                                                                    \
    do                                                                                                                 \
    {                                                                                                                  \
        cudaError_t const status_ = (call);                                                                            \
        if (status_ != cudaSuccess)                                                                                    \
            return status_;                                                                                            \
    } while (0)

constexpr size_t kAlignment = 256;
constexpr int kScanThreads = 128;

// Bump allocator over the workspace; with a null base it only measures.
class WorkspaceCarver
{
public:
    explicit WorkspaceCarver(void* base) : mBase(static_cast<char*>(base)) {}

    template <typename U>
    U* take(size_t count)
    {
        mUsed = (mUsed + kAlignment - 1) / kAlignment * kAlignment;
        U* ptr = mBase ? reinterpret_cast<U*>(mBase + mUsed) : nullptr;
        mUsed += count * sizeof(U);
        return ptr;
    }

    size_t used() const { return mUsed; }

private:
    char* mBase;
    size_t mUsed = 0;
};

// Bits that hold the segment index (high word of the sort key) for `segments` segments.
int segment_bits(int segments)
{
    int bits = 0;
    while ((1 << bits) < segments)
        ++bits;
    return bits;
}

struct Sizes
{
    size_t locations;  // B·Σ H·W
    size_t rows;       // B·Σ k
    size_t candidates; // B·Σ k·C
    size_t mask_words; // B·max_candidates·words
    size_t slots;      // B·K
    size_t images;     // B
};

template <typename T>
Sizes sizes_of(Params<T> const& p)
{
    size_t const b = static_cast<size_t>(p.batch);
    return Sizes{b * p.locations, b * p.rows, b * static_cast<size_t>(candidates_per_image(p)),
        b * p.max_candidates * mask_words(p.max_candidates), b * p.max_detections, b};
}

cudaError_t sort_temp_bytes(size_t items, int end_bit, size_t& bytes)
{
    bytes = 0;
    return cub::DeviceRadixSort::SortPairs(static_cast<void*>(nullptr), bytes, static_cast<uint64_t const*>(nullptr),
        static_cast<uint64_t*>(nullptr), static_cast<int const*>(nullptr), static_cast<int*>(nullptr),
        static_cast<int>(items), 0, end_bit);
}

struct Workspace
{
    Buffers buffers;
    void* sort_temp;
    size_t sort_temp_bytes;
    size_t total;
};

// Lays the buffers out in `base` (or only measures, with a null base); fails if CUB cannot size its sort.
template <typename T>
cudaError_t carve(Params<T> const& p, void* base, Workspace& w)
{
    Sizes const n = sizes_of(p);
    size_t location_sort = 0;
    size_t candidate_sort = 0;
    cudaError_t status = sort_temp_bytes(n.locations, 32 + segment_bits(p.batch * p.num_levels), location_sort);
    if (status == cudaSuccess)
        status = sort_temp_bytes(n.candidates, 32 + segment_bits(p.batch), candidate_sort);
    if (status != cudaSuccess)
        return status;
    WorkspaceCarver c(base);
    Buffers& b = w.buffers;
    b.location_keys = c.take<uint64_t>(n.locations);
    b.location_ids = c.take<int>(n.locations);
    b.sorted_location_keys = c.take<uint64_t>(n.locations);
    b.sorted_location_ids = c.take<int>(n.locations);
    b.row_locations = c.take<int>(n.rows);
    b.row_boxes = c.take<Box>(n.rows);
    b.candidate_keys = c.take<uint64_t>(n.candidates);
    b.candidate_ids = c.take<int>(n.candidates);
    b.sorted_candidate_keys = c.take<uint64_t>(n.candidates);
    b.sorted_candidate_ids = c.take<int>(n.candidates);
    b.candidate_counts = c.take<int>(n.images);
    b.suppression_mask = c.take<uint64_t>(n.mask_words);
    b.keep = c.take<int>(n.slots);
    b.kept_counts = c.take<int>(n.images);
    w.sort_temp_bytes = std::max(location_sort, candidate_sort);
    w.sort_temp = c.take<char>(w.sort_temp_bytes);
    w.total = c.used();
    return cudaSuccess;
}

template <typename T>
__global__ void score_locations_kernel(Params<T> p, Buffers buf, int64_t n)
{
    for (int64_t i : GridStride(n))
        score_location(p, buf, i);
}

template <typename T>
__global__ void select_rows_kernel(Params<T> p, Buffers buf, int64_t n)
{
    for (int64_t i : GridStride(n))
        select_row(p, buf, i);
}

template <typename T>
__global__ void score_candidates_kernel(Params<T> p, Buffers buf, int64_t n)
{
    for (int64_t i : GridStride(n))
        score_candidate(p, buf, i);
}

template <typename T>
__global__ void count_candidates_kernel(Params<T> p, Buffers buf)
{
    for (int64_t b : GridStride(p.batch))
        count_candidates(p, buf, static_cast<int>(b));
}

// grid = (column blocks, row blocks, images), 64 threads: thread t fills word `column block` of
// row 64·(row block) + t, from the column block's boxes staged in shared memory.
template <typename T>
__global__ void suppression_mask_kernel(Params<T> p, Buffers buf)
{
    __shared__ Box col_boxes[kMaskWordBits];
    __shared__ int col_labels[kMaskWordBits];
    int const b = blockIdx.z;
    int const count = nms_candidates(p, buf, b);
    int const col_start = blockIdx.x * kMaskWordBits;
    int const row = blockIdx.y * kMaskWordBits + threadIdx.x;
    if (blockIdx.x < blockIdx.y || col_start >= count)
        return; // the scan never reads words left of a row's own block
    int const col_count = min_int(kMaskWordBits, count - col_start);
    if (threadIdx.x < col_count)
    {
        col_boxes[threadIdx.x] = candidate_box(p, buf, b, col_start + threadIdx.x);
        col_labels[threadIdx.x] = candidate_label(p, buf, b, col_start + threadIdx.x);
    }
    __syncthreads();
    if (row < count)
        mask_row(p, buf, b, row)[blockIdx.x] = suppression_word(candidate_box(p, buf, b, row),
            candidate_label(p, buf, b, row), row, col_boxes, col_labels, col_start, col_count, p.iou_threshold);
}

struct BlockBarrier
{
    __device__ void operator()() const { __syncthreads(); }
};

// One block per image; `removed` (one bit per candidate) lives in dynamic shared memory.
template <typename T>
__global__ void greedy_nms_kernel(Params<T> p, Buffers buf)
{
    extern __shared__ uint64_t removed[];
    int const b = blockIdx.x;
    int const kept = greedy_nms_scan(mask_row(p, buf, b, 0), nms_candidates(p, buf, b), mask_words(p.max_candidates),
        p.max_detections, removed, buf.keep + static_cast<int64_t>(b) * p.max_detections, threadIdx.x, blockDim.x,
        BlockBarrier{});
    if (threadIdx.x == 0)
        buf.kept_counts[b] = kept;
}

template <typename T>
__global__ void write_detections_kernel(Params<T> p, Buffers buf, Outputs out, int64_t n)
{
    for (int64_t i : GridStride(n))
        write_detection(p, buf, out, i);
}

cudaError_t sort_pairs(Workspace const& w, uint64_t const* keys, uint64_t* sorted_keys, int const* values,
    int* sorted_values, size_t items, int end_bit, cudaStream_t stream)
{
    size_t bytes = w.sort_temp_bytes;
    return cub::DeviceRadixSort::SortPairs(w.sort_temp, bytes, keys, sorted_keys, values, sorted_values,
        static_cast<int>(items), 0, end_bit, stream);
}

template <typename T>
cudaError_t launch_typed(Config const& config, Problem const& problem, void const* const* inputs,
    Outputs const& outputs, void* workspace, cudaStream_t stream)
{
    Params<T> const p = make_params<T>(config, problem, inputs);
    if (p.batch == 0)
        return cudaSuccess;
    Sizes const n = sizes_of(p);
    if (n.candidates > static_cast<size_t>(INT32_MAX))
        return cudaErrorInvalidValue; // CUB item counts are int
    Workspace w{};
    LSNET_RETURN_IF_ERROR(carve(p, workspace, w));
    Buffers const& buf = w.buffers;

    score_locations_kernel<<<grid_stride_blocks(n.locations), kThreadsPerBlock, 0, stream>>>(p, buf, n.locations);
    LSNET_RETURN_IF_ERROR(sort_pairs(w, buf.location_keys, buf.sorted_location_keys, buf.location_ids,
        buf.sorted_location_ids, n.locations, 32 + segment_bits(p.batch * p.num_levels), stream));
    select_rows_kernel<<<grid_stride_blocks(n.rows), kThreadsPerBlock, 0, stream>>>(p, buf, n.rows);
    score_candidates_kernel<<<grid_stride_blocks(n.candidates), kThreadsPerBlock, 0, stream>>>(p, buf, n.candidates);
    LSNET_RETURN_IF_ERROR(sort_pairs(w, buf.candidate_keys, buf.sorted_candidate_keys, buf.candidate_ids,
        buf.sorted_candidate_ids, n.candidates, 32 + segment_bits(p.batch), stream));
    count_candidates_kernel<<<grid_stride_blocks(p.batch), kThreadsPerBlock, 0, stream>>>(p, buf);
    int const words = mask_words(p.max_candidates);
    suppression_mask_kernel<<<dim3(words, words, p.batch), kMaskWordBits, 0, stream>>>(p, buf);
    greedy_nms_kernel<<<p.batch, kScanThreads, words * sizeof(uint64_t), stream>>>(p, buf);
    write_detections_kernel<<<grid_stride_blocks(n.slots), kThreadsPerBlock, 0, stream>>>(p, buf, outputs, n.slots);
    return cudaGetLastError();
}

} // namespace

size_t workspace_size(Config const& config, Problem const& problem)
{
    std::vector<void const*> no_inputs(problem.levels.size() * inputs_per_level(config), nullptr);
    Workspace w{};
    cudaError_t const status = carve(make_params<float>(config, problem, no_inputs.data()), nullptr, w);
    if (status != cudaSuccess)
        throw std::runtime_error(std::string(kPluginName) + ": sizing the CUB sort failed: " + cudaGetErrorString(status));
    return w.total;
}

cudaError_t launch(ElementType type, Config const& config, Problem const& problem, void const* const* inputs,
    Outputs const& outputs, void* workspace, cudaStream_t stream)
{
    switch (type)
    {
    case ElementType::kFloat32:
        return launch_typed<float>(config, problem, inputs, outputs, workspace, stream);
    case ElementType::kFloat16:
        return launch_typed<Half>(config, problem, inputs, outputs, workspace, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace decode
} // namespace lsnet
