// Attributes and input sizes of LSNetDecode (docs/lsnet-official.md §8, reference lsnet/model/decode.py).
#pragma once

#include <vector>

namespace lsnet {
namespace decode {

constexpr char const* kPluginName = "LSNetDecode";
constexpr int kMaxLevels = 8;
constexpr int kBoxBranchVectors = 5; // side-midpoint branch: top, left, bottom, right, centre (20 channels)
constexpr int kMaxCandidatesLimit = 16384; // the NMS mask holds max_candidates² bits per image

// How a detection's box is made from the decoded vectors (lsnet.description.BOX_SOURCES).
enum class BoxSource : int
{
    kExtremePoints = 0,  // (left.x, top.y, right.x, bottom.y) of landmarks 0..3 = top, left, bottom, right
    kLandmarkExtent = 1, // min/max over the N landmarks
    kSideMidpoints = 2,  // as kExtremePoints, from the separate box-vector input
};

// The plugin attributes (field names in README.md).
struct Config
{
    int num_landmarks = 0;
    std::vector<int> strides;
    BoxSource box_source = BoxSource::kExtremePoints;
    int pre_nms_top_k = 1000;
    float score_threshold = 0.05f;
    float iou_threshold = 0.6f;
    int max_detections = 100;
    int max_candidates = 4096;
};

struct LevelSize
{
    int height;
    int width;
};

// Sizes known only from the input tensors.
struct Problem
{
    int batch;
    int num_classes;
    std::vector<LevelSize> levels;
};

inline int inputs_per_level(Config const& config)
{
    return config.box_source == BoxSource::kSideMidpoints ? 3 : 2;
}

} // namespace decode
} // namespace lsnet
