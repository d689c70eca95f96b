#include "tensor_shape.h"

namespace lsnet {

std::string shape_to_string(Shape const& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
    {
        text += i ? ", " : "";
        text += shape[i] == kUnknownDim ? std::string("?") : std::to_string(shape[i]);
    }
    return text + "]";
}

} // namespace lsnet
