// Launch configuration for the element-wise kernels, in one place (ATen style): a bounded grid
// of 256-thread blocks, each thread walking the index range with a grid stride.
#pragma once

#include <cstdint>

namespace lsnet {

constexpr int kThreadsPerBlock = 256;
// Enough blocks to fill any current GPU several times; larger problems loop in the kernel.
constexpr int64_t kMaxGridBlocks = 4096;

inline unsigned int grid_stride_blocks(int64_t n)
{
    int64_t const blocks = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
    return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks < kMaxGridBlocks ? blocks : kMaxGridBlocks));
}

// for (int64_t i : GridStride(n)) — the index loop of every element-wise kernel.
class GridStride
{
public:
    __device__ explicit GridStride(int64_t n) : mEnd(n) {}

    class Iterator
    {
    public:
        __device__ Iterator(int64_t i, int64_t step) : mIndex(i), mStep(step) {}
        __device__ int64_t operator*() const { return mIndex; }
        __device__ Iterator& operator++()
        {
            mIndex += mStep;
            return *this;
        }
        __device__ bool operator!=(Iterator const& end) const { return mIndex < end.mIndex; }

    private:
        int64_t mIndex;
        int64_t mStep;
    };

    __device__ Iterator begin() const
    {
        return Iterator(static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x,
            static_cast<int64_t>(gridDim.x) * blockDim.x);
    }
    __device__ Iterator end() const { return Iterator(mEnd, 0); }

private:
    int64_t mEnd;
};

} // namespace lsnet
