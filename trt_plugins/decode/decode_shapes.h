// Attribute and input validation of LSNetDecode, shared by the plugin (creation and build
// time; dynamic dims unknown) and the CPU twin, so both reject a bad graph with one message.
#pragma once

#include "../common/tensor_shape.h"
#include "decode_config.h"

#include <vector>

namespace lsnet {
namespace decode {

// Throws ValidationError naming the attribute.
void validate_config(Config const& config);

// inputs per level l, in order: cls_logits_l, vectors_l[, box_vectors_l]. Throws ValidationError.
void validate_inputs(Config const& config, std::vector<Shape> const& inputs);

// Sizes of a validated call with known shapes.
Problem problem_from_shapes(Config const& config, std::vector<Shape> const& inputs);

} // namespace decode
} // namespace lsnet
