// The storage types the plugins accept (linear FP32 or FP16; math is always FP32).
#pragma once

namespace lsnet {

enum class ElementType
{
    kFloat32,
    kFloat16,
};

} // namespace lsnet
