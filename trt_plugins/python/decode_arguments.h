// The LSNetDecode attributes as both Python modules (lsnet_twins, lsnet_cuda) take them: keyword
// arguments with the plugin's defaults (decode_config.h), in the plugin's attribute order.
#pragma once

#include "../decode/decode_config.h"

#include <pybind11/pybind11.h>

#include <vector>

// The pybind11 argument list of decode_config(), for m.def(...).
#define LSNET_DECODE_CONFIG_ARGS                                                                                       \
    pybind11::arg("num_landmarks"), pybind11::arg("strides"), pybind11::arg("box_source"),                             \
        pybind11::arg("pre_nms_top_k") = 1000, pybind11::arg("score_threshold") = 0.05f,                               \
        pybind11::arg("iou_threshold") = 0.6f, pybind11::arg("max_detections") = 100,                                  \
        pybind11::arg("max_candidates") = 4096

inline lsnet::decode::Config decode_config(int num_landmarks, std::vector<int> strides, int box_source,
    int pre_nms_top_k, float score_threshold, float iou_threshold, int max_detections, int max_candidates)
{
    lsnet::decode::Config config;
    config.num_landmarks = num_landmarks;
    config.strides = std::move(strides);
    config.box_source = static_cast<lsnet::decode::BoxSource>(box_source);
    config.pre_nms_top_k = pre_nms_top_k;
    config.score_threshold = score_threshold;
    config.iou_threshold = iou_threshold;
    config.max_detections = max_detections;
    config.max_candidates = max_candidates;
    return config;
}
