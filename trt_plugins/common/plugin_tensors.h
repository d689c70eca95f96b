// Conversions from TensorRT's tensor descriptions to what the shared validation and the kernel
// launchers take.
#pragma once

#include "element_type.h"
#include "tensor_shape.h"

#include <NvInferRuntime.h>

namespace lsnet {
namespace trt {

constexpr char const* kPluginNamespace = "lsnet";
constexpr char const* kPluginVersion = "1";

// Build-time shape: constant dims as values, symbolic ones as kUnknownDim.
inline Shape shape_of(nvinfer1::DimsExprs const& dims)
{
    Shape shape;
    for (int32_t i = 0; i < dims.nbDims; ++i)
        shape.push_back(dims.d[i]->isConstant() ? static_cast<int64_t>(dims.d[i]->getConstantValue()) : kUnknownDim);
    return shape;
}

// Shape of a descriptor; TensorRT marks dims unknown at configure time with -1 (= kUnknownDim).
inline Shape shape_of(nvinfer1::Dims const& dims)
{
    return Shape(dims.d, dims.d + dims.nbDims);
}

inline bool is_linear_float_or_half(nvinfer1::PluginTensorDesc const& desc)
{
    return desc.format == nvinfer1::TensorFormat::kLINEAR
        && (desc.type == nvinfer1::DataType::kFLOAT || desc.type == nvinfer1::DataType::kHALF);
}

inline ElementType element_type(nvinfer1::DataType type)
{
    return type == nvinfer1::DataType::kHALF ? ElementType::kFloat16 : ElementType::kFloat32;
}

} // namespace trt
} // namespace lsnet
