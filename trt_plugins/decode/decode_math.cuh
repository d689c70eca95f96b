// Per-element math of LSNetDecode, shared by the CUDA kernels and the CPU twin: class
// probabilities, four-component vector decoding (docs/lsnet-official.md §2.2), anchor points, landmarks and boxes
// (docs/lsnet-official.md §8.1), clamping to the canvas. Mirrors lsnet/model/decode.py operation by operation.
#pragma once

#include "../common/half_storage.h"
#include "../common/host_device.h"
#include "decode_config.h"

#include <cstdint>

namespace lsnet {
namespace decode {

struct Point
{
    float x;
    float y;
};

struct Box
{
    float x1;
    float y1;
    float x2;
    float y2;
};

// One FPN level's inputs and where its locations and selected rows sit in an image's lists.
template <typename T>
struct LevelTensors
{
    T const* cls;         // [B, C, H, W] logits
    T const* vectors;     // [B, 4·(N+1), H, W] Softplus components [t, b, l, r] per vector, stride units
    T const* box_vectors; // [B, 20, H, W] side-midpoint branch, or null
    int height;
    int width;
    int stride;
    int location_begin; // first of this level's H·W locations among an image's Σ H·W
    int row_begin;      // first of this level's top-k rows among an image's Σ k
    int rows;           // k = min(pre_nms_top_k, H·W)
};

// Everything a decode step needs to know about the batch.
template <typename T>
struct Params
{
    LevelTensors<T> levels[kMaxLevels];
    int num_levels;
    int batch;
    int num_classes;
    int num_landmarks;
    BoxSource box_source;
    int locations; // per image: Σ H·W
    int rows;      // per image: Σ k, the locations that enter candidate selection
    float score_threshold;
    float iou_threshold;
    int max_candidates;
    int max_detections;
    float canvas_width; // W_0·s_0: boxes and landmarks are clamped to [0, W] × [0, H]
    float canvas_height;
};

template <typename T>
LSNET_HD inline int level_of_location(Params<T> const& p, int location)
{
    int l = 0;
    while (l + 1 < p.num_levels && location >= p.levels[l + 1].location_begin)
        ++l;
    return l;
}

template <typename T>
LSNET_HD inline int level_of_row(Params<T> const& p, int row)
{
    int l = 0;
    while (l + 1 < p.num_levels && row >= p.levels[l + 1].row_begin)
        ++l;
    return l;
}

LSNET_HD inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

template <typename T>
LSNET_HD inline float class_probability(LevelTensors<T> const& level, int num_classes, int b, int c, int location)
{
    int64_t const plane = static_cast<int64_t>(level.height) * level.width;
    return sigmoid(to_float(level.cls[(static_cast<int64_t>(b) * num_classes + c) * plane + location]));
}

// The score that ranks a location for the per-level top-k: max over classes of the probability.
template <typename T>
LSNET_HD inline float max_class_probability(LevelTensors<T> const& level, int num_classes, int b, int location)
{
    float best = class_probability(level, num_classes, b, 0, location);
    for (int c = 1; c < num_classes; ++c)
    {
        float const p = class_probability(level, num_classes, b, c, location);
        best = p > best ? p : best;
    }
    return best;
}

// One axis of a four-component vector: the larger slot wins with its sign; an exact tie gives
// the first slot, negative (docs/lsnet-official.md §2.2, lsnet.model.vectors.decode).
LSNET_HD inline float decode_pair(float negative_slot, float positive_slot)
{
    return positive_slot > negative_slot ? positive_slot : -negative_slot;
}

// Anchor point (x·s, y·s), no half-stride offset (docs/lsnet-official.md §1), plus the decoded vector × s.
template <typename T>
LSNET_HD inline Point vector_point(T const* map, int64_t plane, int vector, int location, int width, int stride)
{
    T const* v = map + 4 * static_cast<int64_t>(vector) * plane + location;
    float const dy = decode_pair(to_float(v[0]), to_float(v[plane]));
    float const dx = decode_pair(to_float(v[2 * plane]), to_float(v[3 * plane]));
    float const s = static_cast<float>(stride);
    float const anchor_x = mul_rn(static_cast<float>(location % width), s);
    float const anchor_y = mul_rn(static_cast<float>(location / width), s);
    return Point{add_rn(anchor_x, mul_rn(dx, s)), add_rn(anchor_y, mul_rn(dy, s))};
}

// Landmark n (n < N; vector N is the centre, not a landmark) of image b at a location.
template <typename T>
LSNET_HD inline Point landmark_point(Params<T> const& p, LevelTensors<T> const& level, int b, int n, int location)
{
    int64_t const plane = static_cast<int64_t>(level.height) * level.width;
    T const* map = level.vectors + static_cast<int64_t>(b) * 4 * (p.num_landmarks + 1) * plane;
    return vector_point(map, plane, n, location, level.width, level.stride);
}

// (left.x, top.y, right.x, bottom.y) of four points ordered top, left, bottom, right.
LSNET_HD inline Box box_from_sides(Point top, Point left, Point bottom, Point right)
{
    return Box{left.x, top.y, right.x, bottom.y};
}

// The detection box of a location, before clamping, by the configured box source.
template <typename T>
LSNET_HD inline Box location_box(Params<T> const& p, LevelTensors<T> const& level, int b, int location)
{
    if (p.box_source == BoxSource::kSideMidpoints)
    {
        int64_t const plane = static_cast<int64_t>(level.height) * level.width;
        T const* map = level.box_vectors + static_cast<int64_t>(b) * 4 * kBoxBranchVectors * plane;
        return box_from_sides(vector_point(map, plane, 0, location, level.width, level.stride),
            vector_point(map, plane, 1, location, level.width, level.stride),
            vector_point(map, plane, 2, location, level.width, level.stride),
            vector_point(map, plane, 3, location, level.width, level.stride));
    }
    if (p.box_source == BoxSource::kExtremePoints)
    {
        return box_from_sides(landmark_point(p, level, b, 0, location), landmark_point(p, level, b, 1, location),
            landmark_point(p, level, b, 2, location), landmark_point(p, level, b, 3, location));
    }
    Point const first = landmark_point(p, level, b, 0, location);
    Box box{first.x, first.y, first.x, first.y};
    for (int n = 1; n < p.num_landmarks; ++n)
    {
        Point const q = landmark_point(p, level, b, n, location);
        box.x1 = q.x < box.x1 ? q.x : box.x1;
        box.y1 = q.y < box.y1 ? q.y : box.y1;
        box.x2 = q.x > box.x2 ? q.x : box.x2;
        box.y2 = q.y > box.y2 ? q.y : box.y2;
    }
    return box;
}

LSNET_HD inline float clamp_coordinate(float v, float limit)
{
    v = v < 0.0f ? 0.0f : v;
    return v > limit ? limit : v;
}

template <typename T>
LSNET_HD inline Point clamp_to_canvas(Params<T> const& p, Point q)
{
    return Point{clamp_coordinate(q.x, p.canvas_width), clamp_coordinate(q.y, p.canvas_height)};
}

template <typename T>
LSNET_HD inline Box clamp_to_canvas(Params<T> const& p, Box b)
{
    return Box{clamp_coordinate(b.x1, p.canvas_width), clamp_coordinate(b.y1, p.canvas_height),
        clamp_coordinate(b.x2, p.canvas_width), clamp_coordinate(b.y2, p.canvas_height)};
}

} // namespace decode
} // namespace lsnet
