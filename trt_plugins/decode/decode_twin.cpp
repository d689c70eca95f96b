#include "decode_twin.h"
#include "decode_params.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace lsnet {
namespace decode {
namespace {

// The CUB radix sort's result: pairs ordered by ascending key, equal keys in input order.
void stable_sort_pairs(std::vector<uint64_t> const& keys, std::vector<int> const& values,
    std::vector<uint64_t>& sorted_keys, std::vector<int>& sorted_values)
{
    std::vector<size_t> order(keys.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    for (size_t i = 0; i < order.size(); ++i)
    {
        sorted_keys[i] = keys[order[i]];
        sorted_values[i] = values[order[i]];
    }
}

// Step 6 with the CUDA kernel's block structure: 64 × 64 tiles of rows × columns, upper triangle.
template <typename T>
void build_suppression_mask(Params<T> const& p, Buffers const& buf, int b)
{
    int const count = nms_candidates(p, buf, b);
    Box col_boxes[kMaskWordBits];
    int col_labels[kMaskWordBits];
    for (int row_block = 0; row_block * kMaskWordBits < count; ++row_block)
    {
        for (int col_block = row_block; col_block * kMaskWordBits < count; ++col_block)
        {
            int const col_start = col_block * kMaskWordBits;
            int const col_count = min_int(kMaskWordBits, count - col_start);
            for (int t = 0; t < col_count; ++t)
            {
                col_boxes[t] = candidate_box(p, buf, b, col_start + t);
                col_labels[t] = candidate_label(p, buf, b, col_start + t);
            }
            for (int t = 0; t < kMaskWordBits && row_block * kMaskWordBits + t < count; ++t)
            {
                int const i = row_block * kMaskWordBits + t;
                mask_row(p, buf, b, i)[col_block] = suppression_word(candidate_box(p, buf, b, i),
                    candidate_label(p, buf, b, i), i, col_boxes, col_labels, col_start, col_count, p.iou_threshold);
            }
        }
    }
}

} // namespace

template <typename T>
void run_twin(Config const& config, Problem const& problem, void const* const* inputs, Outputs const& outputs)
{
    Params<T> const p = make_params<T>(config, problem, inputs);
    size_t const batch = static_cast<size_t>(p.batch);
    size_t const locations = batch * p.locations;
    size_t const rows = batch * p.rows;
    size_t const candidates = batch * static_cast<size_t>(candidates_per_image(p));
    int const words = mask_words(p.max_candidates);

    std::vector<uint64_t> location_keys(locations), sorted_location_keys(locations);
    std::vector<int> location_ids(locations), sorted_location_ids(locations);
    std::vector<int> row_locations(rows);
    std::vector<Box> row_boxes(rows);
    std::vector<uint64_t> candidate_keys(candidates), sorted_candidate_keys(candidates);
    std::vector<int> candidate_ids(candidates), sorted_candidate_ids(candidates);
    std::vector<int> candidate_counts(batch);
    // All bits set, like stale workspace: a read of a word the mask step did not write shows up in the tests.
    std::vector<uint64_t> mask(batch * p.max_candidates * words, ~uint64_t{0});
    std::vector<int> keep(batch * p.max_detections);
    std::vector<int> kept_counts(batch);
    Buffers const buf{location_keys.data(), location_ids.data(), sorted_location_keys.data(),
        sorted_location_ids.data(), row_locations.data(), row_boxes.data(), candidate_keys.data(),
        candidate_ids.data(), sorted_candidate_keys.data(), sorted_candidate_ids.data(), candidate_counts.data(),
        mask.data(), keep.data(), kept_counts.data()};

    for (size_t i = 0; i < locations; ++i)
        score_location(p, buf, static_cast<int64_t>(i));
    stable_sort_pairs(location_keys, location_ids, sorted_location_keys, sorted_location_ids);
    for (size_t i = 0; i < rows; ++i)
        select_row(p, buf, static_cast<int64_t>(i));
    for (size_t i = 0; i < candidates; ++i)
        score_candidate(p, buf, static_cast<int64_t>(i));
    stable_sort_pairs(candidate_keys, candidate_ids, sorted_candidate_keys, sorted_candidate_ids);
    std::vector<uint64_t> removed(words);
    for (int b = 0; b < p.batch; ++b)
    {
        count_candidates(p, buf, b);
        build_suppression_mask(p, buf, b);
        kept_counts[b] = greedy_nms_scan(mask_row(p, buf, b, 0), nms_candidates(p, buf, b), words, p.max_detections,
            removed.data(), buf.keep + static_cast<int64_t>(b) * p.max_detections, 0, 1, [] {});
    }
    for (size_t i = 0; i < batch * p.max_detections; ++i)
        write_detection(p, buf, outputs, static_cast<int64_t>(i));
}

template void run_twin<float>(Config const&, Problem const&, void const* const*, Outputs const&);
template void run_twin<Half>(Config const&, Problem const&, void const* const*, Outputs const&);

} // namespace decode
} // namespace lsnet
