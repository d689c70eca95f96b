#include "pyramid_dcn_shapes.h"

#include <string>

namespace lsnet {
namespace pyramid_dcn {
namespace {

[[noreturn]] void reject(std::string const& what, Shape const& got)
{
    throw ValidationError(std::string(kPluginName) + ": " + what + ", got " + shape_to_string(got));
}

bool sizes_positive(Shape const& shape)
{
    for (int64_t d : shape)
    {
        if (d != kUnknownDim && d < 1)
            return false;
    }
    return true;
}

std::string known(int64_t d)
{
    return d == kUnknownDim ? std::string("?") : std::to_string(d);
}

} // namespace

void validate_inputs(std::vector<Shape> const& inputs)
{
    if (inputs.size() != 3 && inputs.size() != 4)
        throw ValidationError(std::string(kPluginName) + ": expects 3 inputs (input, offset, weight) or 4 (input, offset, "
            "weight, bias), got " + std::to_string(inputs.size()));
    Shape const& input = inputs[0];
    Shape const& offset = inputs[1];
    Shape const& weight = inputs[2];
    if (input.size() != 4 || !sizes_positive(input))
        reject("input must be [B, C, Hl, Wl] with sizes >= 1", input);
    if (offset.size() != 4 || !sizes_positive(offset) || !dims_agree(offset[0], input[0]) || !dims_agree(offset[1], 18))
        reject("offset must be [B, 18, H, W] with B = input batch (" + known(input[0]) + ")", offset);
    if (weight.size() != 4 || !sizes_positive(weight) || !dims_agree(weight[1], input[1]) || !dims_agree(weight[2], 3)
        || !dims_agree(weight[3], 3))
        reject("weight must be [Cout, C, 3, 3] with C = input channels (" + known(input[1]) + ")", weight);
    if (inputs.size() == 4)
    {
        Shape const& bias = inputs[3];
        if (bias.size() != 1 || !dims_agree(bias[0], weight[0]))
            reject("bias must be [Cout] with Cout = weight.shape[0] (" + known(weight[0]) + ")", bias);
    }
}

Geometry geometry_from_shapes(std::vector<Shape> const& inputs)
{
    validate_inputs(inputs);
    auto const dim = [&](int tensor, int axis) { return static_cast<int>(inputs[tensor][axis]); };
    return make_geometry(dim(0, 0), dim(0, 1), dim(0, 2), dim(0, 3), dim(2, 0), dim(1, 2), dim(1, 3));
}

} // namespace pyramid_dcn
} // namespace lsnet
