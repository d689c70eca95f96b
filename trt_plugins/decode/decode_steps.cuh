// The decode as a sequence of element steps over buffers, shared by the CUDA kernels (one
// grid-stride kernel per step, CUB sorts in between) and the CPU twin (plain loops, stable sorts):
//   1 score_location     every location: max-over-classes probability          [B·Σ H·W]
//   2 (stable sort)      by (image, level, score desc); ties keep location order → top-k rows
//   3 select_row         every top-k row: its location and clamped box           [B·Σ k]
//   4 score_candidate    every (row, class): probability if > threshold          [B·Σ k·C]
//   5 (stable sort)      by (image, score desc); ties keep row·C + class order
//     count_candidates   per image; the first max_candidates enter NMS
//   6 suppression mask   candidate_box / candidate_label + suppression_word
//   7 greedy_nms_scan    per image, up to max_detections
//   8 write_detection    every output slot, zero-padded                          [B·K]
// Both sorts are one ascending stable sort of 64-bit keys (segment in the high word, the
// order-flipped score in the low word): cub::DeviceRadixSort on the GPU, std::stable_sort here.
#pragma once

#include "decode_math.cuh"
#include "decode_nms.cuh"

#include <cstdint>
#include <cstring>

namespace lsnet {
namespace decode {

// Score of a (row, class) pair that is not a candidate: below every probability, so the
// descending sort puts it last.
constexpr float kNotCandidate = -1.0f;

// Ascending order of the key = (segment ascending, score descending), for any finite score.
LSNET_HD inline uint64_t sort_key(int segment, float score)
{
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    uint32_t const ascending = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return (static_cast<uint64_t>(segment) << 32) | static_cast<uint32_t>(~ascending);
}

LSNET_HD inline float score_of_key(uint64_t key)
{
    uint32_t const ascending = ~static_cast<uint32_t>(key);
    uint32_t const bits = (ascending & 0x80000000u) ? (ascending & 0x7fffffffu) : ~ascending;
    float score;
    memcpy(&score, &bits, sizeof score);
    return score;
}

// Intermediate arrays, batch-major (image b's part starts at b × per-image size).
struct Buffers
{
    uint64_t* location_keys;        // [B, Σ H·W] sort_key(image·L + level, max probability)
    int* location_ids;              // [B, Σ H·W] location within its level
    uint64_t* sorted_location_keys; // [B, Σ H·W] each (image, level) segment best first
    int* sorted_location_ids;       // [B, Σ H·W]
    int* row_locations;             // [B, Σ k] location of each selected row
    Box* row_boxes;                 // [B, Σ k] clamped box of each selected row
    uint64_t* candidate_keys;       // [B, Σ k · C] sort_key(image, probability or kNotCandidate)
    int* candidate_ids;             // [B, Σ k · C] row·C + class
    uint64_t* sorted_candidate_keys;
    int* sorted_candidate_ids;
    int* candidate_counts;          // [B] pairs above the score threshold
    uint64_t* suppression_mask;     // [B, max_candidates, mask_words(max_candidates)]
    int* keep;                      // [B, max_detections] indices into the sorted candidates
    int* kept_counts;               // [B]
};

struct Outputs
{
    int32_t* num_dets; // [B, 1]
    float* boxes;      // [B, K, 4]
    float* scores;     // [B, K]
    int32_t* labels;   // [B, K]
    float* landmarks;  // [B, K, N, 2]
};

LSNET_HD inline int mask_words(int max_candidates)
{
    return ceil_div(max_candidates, kMaskWordBits);
}

template <typename T>
LSNET_HD inline int64_t candidates_per_image(Params<T> const& p)
{
    return static_cast<int64_t>(p.rows) * p.num_classes;
}

// Step 1, index over [B·Σ H·W].
template <typename T>
LSNET_HD inline void score_location(Params<T> const& p, Buffers const& buf, int64_t index)
{
    int const b = static_cast<int>(index / p.locations);
    int const l = level_of_location(p, static_cast<int>(index % p.locations));
    int const location = static_cast<int>(index % p.locations) - p.levels[l].location_begin;
    float const score = max_class_probability(p.levels[l], p.num_classes, b, location);
    buf.location_keys[index] = sort_key(b * p.num_levels + l, score);
    buf.location_ids[index] = location;
}

// Step 3, index over [B·Σ k]: rank r of level l is the r-th entry of the level's sorted segment.
template <typename T>
LSNET_HD inline void select_row(Params<T> const& p, Buffers const& buf, int64_t index)
{
    int const b = static_cast<int>(index / p.rows);
    int const row = static_cast<int>(index % p.rows);
    LevelTensors<T> const& level = p.levels[level_of_row(p, row)];
    int const rank = row - level.row_begin;
    int const location = buf.sorted_location_ids[static_cast<int64_t>(b) * p.locations + level.location_begin + rank];
    buf.row_locations[index] = location;
    buf.row_boxes[index] = clamp_to_canvas(p, location_box(p, level, b, location));
}

// Step 4, index over [B·Σ k·C].
template <typename T>
LSNET_HD inline void score_candidate(Params<T> const& p, Buffers const& buf, int64_t index)
{
    int64_t const per_image = candidates_per_image(p);
    int const b = static_cast<int>(index / per_image);
    int const id = static_cast<int>(index % per_image);
    int const row = id / p.num_classes;
    int const c = id % p.num_classes;
    LevelTensors<T> const& level = p.levels[level_of_row(p, row)];
    float const probability
        = class_probability(level, p.num_classes, b, c, buf.row_locations[static_cast<int64_t>(b) * p.rows + row]);
    buf.candidate_keys[index] = sort_key(b, probability > p.score_threshold ? probability : kNotCandidate);
    buf.candidate_ids[index] = id;
}

// Step 5, per image after the sort: candidates form a prefix of the image's segment; binary search its end.
template <typename T>
LSNET_HD inline void count_candidates(Params<T> const& p, Buffers const& buf, int b)
{
    uint64_t const* keys = buf.sorted_candidate_keys + b * candidates_per_image(p);
    int64_t lo = 0;
    int64_t hi = candidates_per_image(p);
    while (lo < hi)
    {
        int64_t const mid = (lo + hi) / 2;
        if (score_of_key(keys[mid]) > kNotCandidate)
            lo = mid + 1;
        else
            hi = mid;
    }
    buf.candidate_counts[b] = static_cast<int>(lo);
}

// Candidates entering NMS for image b: the best max_candidates of those above the threshold.
template <typename T>
LSNET_HD inline int nms_candidates(Params<T> const& p, Buffers const& buf, int b)
{
    return min_int(buf.candidate_counts[b], p.max_candidates);
}

// Step 6 inputs: box and class of sorted candidate j of image b.
template <typename T>
LSNET_HD inline Box candidate_box(Params<T> const& p, Buffers const& buf, int b, int j)
{
    int const id = buf.sorted_candidate_ids[b * candidates_per_image(p) + j];
    return buf.row_boxes[static_cast<int64_t>(b) * p.rows + id / p.num_classes];
}

template <typename T>
LSNET_HD inline int candidate_label(Params<T> const& p, Buffers const& buf, int b, int j)
{
    return buf.sorted_candidate_ids[b * candidates_per_image(p) + j] % p.num_classes;
}

template <typename T>
LSNET_HD inline uint64_t* mask_row(Params<T> const& p, Buffers const& buf, int b, int i)
{
    int const words = mask_words(p.max_candidates);
    return buf.suppression_mask + (static_cast<int64_t>(b) * p.max_candidates + i) * words;
}

// Step 8, index over [B·K]: slot k of image b gets kept detection k, or zeros past the last one.
template <typename T>
LSNET_HD inline void write_detection(Params<T> const& p, Buffers const& buf, Outputs const& out, int64_t index)
{
    int const b = static_cast<int>(index / p.max_detections);
    int const slot = static_cast<int>(index % p.max_detections);
    int const kept = buf.kept_counts[b];
    int const n_points = p.num_landmarks;
    float* box = out.boxes + index * 4;
    float* points = out.landmarks + index * 2 * n_points;
    if (slot == 0)
        out.num_dets[b] = kept;
    if (slot >= kept)
    {
        box[0] = box[1] = box[2] = box[3] = 0.0f;
        out.scores[index] = 0.0f;
        out.labels[index] = 0;
        for (int n = 0; n < 2 * n_points; ++n)
            points[n] = 0.0f;
        return;
    }
    int const j = buf.keep[index];
    int const id = buf.sorted_candidate_ids[b * candidates_per_image(p) + j];
    int const row = id / p.num_classes;
    Box const b_box = buf.row_boxes[static_cast<int64_t>(b) * p.rows + row];
    box[0] = b_box.x1;
    box[1] = b_box.y1;
    box[2] = b_box.x2;
    box[3] = b_box.y2;
    out.scores[index] = score_of_key(buf.sorted_candidate_keys[b * candidates_per_image(p) + j]);
    out.labels[index] = id % p.num_classes;
    LevelTensors<T> const& level = p.levels[level_of_row(p, row)];
    int const location = buf.row_locations[static_cast<int64_t>(b) * p.rows + row];
    for (int n = 0; n < n_points; ++n)
    {
        Point const q = clamp_to_canvas(p, landmark_point(p, level, b, n, location));
        points[2 * n] = q.x;
        points[2 * n + 1] = q.y;
    }
}

} // namespace decode
} // namespace lsnet
