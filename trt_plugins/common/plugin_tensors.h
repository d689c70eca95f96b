// Conversions from TensorRT's tensor descriptions to what the shared validation and the kernel
// launchers take.
#pragma once

#include "element_type.h"
#include "tensor_shape.h"

#include <NvInferRuntime.h>

#include <vector>

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

// Shapes of the first `count` tensors, from build-time dimension expressions, descriptors
// (configure / onShapeChange) or, with `largest`, the profile's largest dims.
template <typename Tensor, typename DimsOf>
std::vector<Shape> shapes_of(Tensor const* tensors, int32_t count, DimsOf dims_of)
{
    std::vector<Shape> shapes;
    for (int32_t i = 0; i < count; ++i)
        shapes.push_back(shape_of(dims_of(tensors[i])));
    return shapes;
}

inline std::vector<Shape> shapes_of(nvinfer1::DimsExprs const* dims, int32_t count)
{
    return shapes_of(dims, count, [](nvinfer1::DimsExprs const& d) -> nvinfer1::DimsExprs const& { return d; });
}

inline std::vector<Shape> shapes_of(nvinfer1::PluginTensorDesc const* descs, int32_t count)
{
    return shapes_of(descs, count, [](nvinfer1::PluginTensorDesc const& d) { return d.dims; });
}

inline std::vector<Shape> shapes_of(nvinfer1::DynamicPluginTensorDesc const* descs, int32_t count, bool largest = false)
{
    return shapes_of(descs, count, [largest](nvinfer1::DynamicPluginTensorDesc const& d) {
        return largest ? d.max : d.desc.dims;
    });
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
