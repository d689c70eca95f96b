// Shapes as the shared validation functions see them. The plugins pass what TensorRT knows at
// build time (a dynamic dimension is kUnknownDim); the twins pass concrete array shapes. One
// check therefore gives the same message in `trtexec` and in a Python test.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lsnet {

using Shape = std::vector<int64_t>;

constexpr int64_t kUnknownDim = -1;

// A shape or attribute that a plugin (or its twin) rejects; the message names the plugin and the field.
// Derives from invalid_argument, which pybind11 raises as ValueError.
class ValidationError : public std::invalid_argument
{
public:
    using std::invalid_argument::invalid_argument;
};

// "[2, 18, ?, ?]"
std::string shape_to_string(Shape const& shape);

// True unless both dims are known and differ.
inline bool dims_agree(int64_t a, int64_t b)
{
    return a == kUnknownDim || b == kUnknownDim || a == b;
}

} // namespace lsnet
