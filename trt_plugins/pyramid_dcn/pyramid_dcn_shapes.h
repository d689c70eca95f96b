// Input validation of LSNetPyramidDCN, shared by the plugin (build time, where dynamic dims are
// unknown) and the CPU twin (concrete arrays), so both reject a bad graph with one message.
#pragma once

#include "../common/tensor_shape.h"
#include "pyramid_dcn_sampling.cuh"

#include <vector>

namespace lsnet {
namespace pyramid_dcn {

constexpr char const* kPluginName = "LSNetPyramidDCN";

// inputs = [input, offset, weight] or [input, offset, weight, bias]; throws ValidationError.
void validate_inputs(std::vector<Shape> const& inputs);

// Geometry of a validated call with known shapes.
Geometry geometry_from_shapes(std::vector<Shape> const& inputs);

} // namespace pyramid_dcn
} // namespace lsnet
