// Class-wise greedy NMS as a suppression bit mask (torchvision's CUDA NMS layout), shared by the
// CUDA kernels and the CPU twin: candidates are sorted by descending score; bit t of word w of
// row i says that candidate i (kept) suppresses candidate 64·w + t.
#pragma once

#include "decode_math.cuh"

#include <cstdint>

namespace lsnet {
namespace decode {

constexpr int kMaskWordBits = 64;

LSNET_HD inline float box_area(Box const& b)
{
    return mul_rn(sub_rn(b.x2, b.x1), sub_rn(b.y2, b.y1));
}

// IoU without +1 (torchvision.ops.nms): inter / (area_kept + area_other − inter) > threshold.
// A degenerate pair (0/0) does not suppress, as in torchvision.
LSNET_HD inline bool iou_above(Box const& kept, Box const& other, float threshold)
{
    float const left = kept.x1 > other.x1 ? kept.x1 : other.x1;
    float const top = kept.y1 > other.y1 ? kept.y1 : other.y1;
    float const right = kept.x2 < other.x2 ? kept.x2 : other.x2;
    float const bottom = kept.y2 < other.y2 ? kept.y2 : other.y2;
    float const w = sub_rn(right, left) > 0.0f ? sub_rn(right, left) : 0.0f;
    float const h = sub_rn(bottom, top) > 0.0f ? sub_rn(bottom, top) : 0.0f;
    float const inter = mul_rn(w, h);
    return inter / sub_rn(add_rn(box_area(kept), box_area(other)), inter) > threshold;
}

// Word of row `row` covering candidates col_start .. col_start + col_count − 1: bit t is set when
// candidate col_start + t comes later, has the same class, and overlaps above the threshold.
LSNET_HD inline uint64_t suppression_word(Box const& row_box, int row_label, int row, Box const* col_boxes,
    int const* col_labels, int col_start, int col_count, float threshold)
{
    uint64_t bits = 0;
    for (int t = 0; t < col_count; ++t)
    {
        if (col_start + t > row && col_labels[t] == row_label && iou_above(row_box, col_boxes[t], threshold))
            bits |= uint64_t{1} << t;
    }
    return bits;
}

// Greedy scan of the mask (rows `row_pitch` words apart; only the words of the first `count`
// candidates are read): keeps candidate i unless a kept earlier candidate suppresses it; stops at
// max_keep. Run by `lanes` cooperating threads (a CUDA block, or one CPU thread with a no-op
// barrier); each keeps the current word in a register, so a word is never written while read.
// Returns the number kept; keep[0 .. kept) are candidate indices in score order.
template <typename Barrier>
LSNET_HD inline int greedy_nms_scan(uint64_t const* mask, int count, int row_pitch, int max_keep, uint64_t* removed,
    int* keep, int lane, int lanes, Barrier barrier)
{
    int const words = ceil_div(count, kMaskWordBits);
    for (int w = lane; w < words; w += lanes)
        removed[w] = 0;
    barrier();
    int kept = 0;
    for (int word = 0; word < words && kept < max_keep; ++word)
    {
        uint64_t current = removed[word];
        for (int bit = 0; bit < kMaskWordBits; ++bit)
        {
            int const i = word * kMaskWordBits + bit;
            if (i >= count || kept >= max_keep)
                break;
            if ((current >> bit) & 1u)
                continue;
            if (lane == 0)
                keep[kept] = i;
            ++kept;
            uint64_t const* row = mask + static_cast<int64_t>(i) * row_pitch;
            current |= row[word];
            for (int w = word + 1 + lane; w < words; w += lanes)
                removed[w] |= row[w];
        }
        barrier(); // later words are complete before they are read
    }
    return kept;
}

} // namespace decode
} // namespace lsnet
