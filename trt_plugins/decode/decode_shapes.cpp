#include "decode_shapes.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace lsnet {
namespace decode {
namespace {

[[noreturn]] void reject(std::string const& what)
{
    throw ValidationError(std::string(kPluginName) + ": " + what);
}

std::string known(int64_t d)
{
    return d == kUnknownDim ? std::string("?") : std::to_string(d);
}

std::string ints_to_string(std::vector<int> const& values)
{
    Shape as_shape(values.begin(), values.end());
    return shape_to_string(as_shape);
}

// A level input [B, channels, H_l, W_l] agreeing with the batch and the level's spatial size.
void check_level_input(std::string const& name, std::string const& layout, Shape const& shape, int64_t batch,
    int64_t channels, Shape const& level_cls)
{
    bool ok = shape.size() == 4;
    for (size_t i = 0; ok && i < shape.size(); ++i)
        ok = shape[i] == kUnknownDim || shape[i] >= 1;
    ok = ok && dims_agree(shape[0], batch) && dims_agree(shape[1], channels) && dims_agree(shape[2], level_cls[2])
        && dims_agree(shape[3], level_cls[3]);
    if (!ok)
        reject(name + " must be " + layout + " = [" + known(batch) + ", " + known(channels) + ", " + known(level_cls[2])
            + ", " + known(level_cls[3]) + "], got " + shape_to_string(shape));
}

} // namespace

void validate_config(Config const& c)
{
    if (c.strides.empty() || c.strides.size() > static_cast<size_t>(kMaxLevels))
        reject("strides must hold 1 to " + std::to_string(kMaxLevels) + " ints (one per level), got "
            + ints_to_string(c.strides));
    for (int s : c.strides)
    {
        if (s < 1)
            reject("strides must be >= 1, got " + ints_to_string(c.strides));
    }
    int const box_source = static_cast<int>(c.box_source);
    if (box_source < 0 || box_source > 2)
        reject("box_source must be 0 (extreme_points), 1 (landmark_extent) or 2 (side_midpoints), got "
            + std::to_string(box_source));
    if (c.num_landmarks < 1)
        reject("num_landmarks must be >= 1, got " + std::to_string(c.num_landmarks));
    if (c.box_source == BoxSource::kExtremePoints && c.num_landmarks < 4)
        reject("box_source 0 (extreme_points) needs num_landmarks >= 4 (top, left, bottom, right), got "
            + std::to_string(c.num_landmarks));
    if (c.pre_nms_top_k < 1)
        reject("pre_nms_top_k must be >= 1, got " + std::to_string(c.pre_nms_top_k));
    if (c.max_detections < 1)
        reject("max_detections must be >= 1, got " + std::to_string(c.max_detections));
    if (c.max_candidates < 1 || c.max_candidates > kMaxCandidatesLimit)
        reject("max_candidates must be in [1, " + std::to_string(kMaxCandidatesLimit) + "], got "
            + std::to_string(c.max_candidates));
    if (!std::isfinite(c.score_threshold))
        reject("score_threshold must be finite");
    if (!std::isfinite(c.iou_threshold))
        reject("iou_threshold must be finite");
}

void validate_inputs(Config const& c, std::vector<Shape> const& inputs)
{
    validate_config(c);
    size_t const levels = c.strides.size();
    size_t const per_level = static_cast<size_t>(inputs_per_level(c));
    if (inputs.size() != levels * per_level)
        reject("expects " + std::to_string(per_level) + " inputs per level (cls_logits_l, vectors_l"
            + (per_level == 3 ? std::string(", box_vectors_l") : std::string()) + ") for " + std::to_string(levels)
            + " levels (one per stride), got " + std::to_string(inputs.size()));
    Shape const& first = inputs[0];
    int64_t const batch = first.size() == 4 ? first[0] : kUnknownDim;
    int64_t const classes = first.size() == 4 ? first[1] : kUnknownDim;
    int64_t const vector_channels = 4 * (static_cast<int64_t>(c.num_landmarks) + 1);
    for (size_t l = 0; l < levels; ++l)
    {
        std::string const suffix = "_" + std::to_string(l);
        Shape const& cls = inputs[l * per_level];
        if (cls.size() != 4)
            reject("cls_logits" + suffix + " must be [B, C, H" + suffix + ", W" + suffix + "], got "
                + shape_to_string(cls));
        check_level_input("cls_logits" + suffix, "[B, C, H" + suffix + ", W" + suffix + "] with B, C as in cls_logits_0",
            cls, batch, classes, cls);
        check_level_input("vectors" + suffix, "[B, 4*(num_landmarks+1), H" + suffix + ", W" + suffix + "]",
            inputs[l * per_level + 1], batch, vector_channels, cls);
        if (per_level == 3)
            check_level_input("box_vectors" + suffix, "[B, 20, H" + suffix + ", W" + suffix + "]",
                inputs[l * per_level + 2], batch, 4 * kBoxBranchVectors, cls);
    }
    // Candidate ids (row·C + class) are int32 on the GPU.
    if (classes != kUnknownDim
        && static_cast<int64_t>(levels) * c.pre_nms_top_k * classes > static_cast<int64_t>(INT32_MAX))
        reject("levels * pre_nms_top_k * classes must fit in int32, got " + std::to_string(levels) + " * "
            + std::to_string(c.pre_nms_top_k) + " * " + std::to_string(classes));
}

Problem problem_from_shapes(Config const& c, std::vector<Shape> const& inputs)
{
    validate_inputs(c, inputs);
    Problem p{static_cast<int>(inputs[0][0]), static_cast<int>(inputs[0][1]), {}};
    size_t const per_level = static_cast<size_t>(inputs_per_level(c));
    for (size_t l = 0; l < c.strides.size(); ++l)
    {
        Shape const& cls = inputs[l * per_level];
        p.levels.push_back(LevelSize{static_cast<int>(cls[2]), static_cast<int>(cls[3])});
    }
    return p;
}

} // namespace decode
} // namespace lsnet
