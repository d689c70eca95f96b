// Builds the decode Params from the attributes, the input sizes and the input pointers
// (plugin order: per level cls_logits_l, vectors_l[, box_vectors_l]). Host code, shared by the
// CUDA launcher and the CPU twin.
#pragma once

#include "decode_config.h"
#include "decode_math.cuh"

namespace lsnet {
namespace decode {

template <typename T>
Params<T> make_params(Config const& config, Problem const& problem, void const* const* inputs)
{
    Params<T> p{};
    int const per_level = inputs_per_level(config);
    p.num_levels = static_cast<int>(problem.levels.size());
    int locations = 0;
    int rows = 0;
    for (int l = 0; l < p.num_levels; ++l)
    {
        LevelSize const size = problem.levels[l];
        int const level_locations = size.height * size.width;
        int const level_rows = level_locations < config.pre_nms_top_k ? level_locations : config.pre_nms_top_k;
        p.levels[l] = LevelTensors<T>{static_cast<T const*>(inputs[l * per_level]),
            static_cast<T const*>(inputs[l * per_level + 1]),
            per_level == 3 ? static_cast<T const*>(inputs[l * per_level + 2]) : nullptr, size.height, size.width,
            config.strides[l], locations, rows, level_rows};
        locations += level_locations;
        rows += level_rows;
    }
    p.batch = problem.batch;
    p.num_classes = problem.num_classes;
    p.num_landmarks = config.num_landmarks;
    p.box_source = config.box_source;
    p.locations = locations;
    p.rows = rows;
    p.score_threshold = config.score_threshold;
    p.iou_threshold = config.iou_threshold;
    p.max_candidates = config.max_candidates;
    p.max_detections = config.max_detections;
    // Canvas = first level's size × its stride (the network input, docs/lsnet-official.md §8.1 / decode.py).
    p.canvas_width = static_cast<float>(problem.levels[0].width * config.strides[0]);
    p.canvas_height = static_cast<float>(problem.levels[0].height * config.strides[0]);
    return p;
}

} // namespace decode
} // namespace lsnet
