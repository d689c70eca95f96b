#include "pyramid_dcn_plugin.h"
#include "../common/plugin_log.h"
#include "../common/plugin_tensors.h"
#include "pyramid_dcn_kernel.h"
#include "pyramid_dcn_shapes.h"

#include <exception>
#include <string>
#include <vector>

namespace lsnet {
namespace trt {

using namespace nvinfer1;

namespace {

constexpr int32_t kSuccess = 0;
constexpr int32_t kFailure = -1;

std::vector<Shape> shapes_of(DynamicPluginTensorDesc const* in, int32_t n)
{
    std::vector<Shape> shapes;
    for (int32_t i = 0; i < n; ++i)
        shapes.push_back(shape_of(in[i].desc.dims));
    return shapes;
}

std::vector<Shape> shapes_of(PluginTensorDesc const* in, int32_t n)
{
    std::vector<Shape> shapes;
    for (int32_t i = 0; i < n; ++i)
        shapes.push_back(shape_of(in[i].dims));
    return shapes;
}

} // namespace

PyramidDcnPlugin::PyramidDcnPlugin(std::string name)
    : mName(std::move(name))
{
}

IPluginCapability* PyramidDcnPlugin::getCapabilityInterface(PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
    case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
    }
    return nullptr;
}

IPluginV3* PyramidDcnPlugin::clone() noexcept
{
    try
    {
        return new PyramidDcnPlugin(*this);
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

char const* PyramidDcnPlugin::getPluginName() const noexcept
{
    return pyramid_dcn::kPluginName;
}

char const* PyramidDcnPlugin::getPluginVersion() const noexcept
{
    return kPluginVersion;
}

char const* PyramidDcnPlugin::getPluginNamespace() const noexcept
{
    return kPluginNamespace;
}

int32_t PyramidDcnPlugin::getNbOutputs() const noexcept
{
    return 1;
}

int32_t PyramidDcnPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbOutputs != 1 || nbInputs < 1)
        return kFailure;
    outputTypes[0] = inputTypes[0];
    return kSuccess;
}

int32_t PyramidDcnPlugin::getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const*, int32_t,
    DimsExprs* outputs, int32_t nbOutputs, IExprBuilder&) noexcept
{
    try
    {
        std::vector<Shape> shapes;
        for (int32_t i = 0; i < nbInputs; ++i)
            shapes.push_back(shape_of(inputs[i]));
        pyramid_dcn::validate_inputs(shapes);
        if (nbOutputs != 1)
            throw ValidationError(std::string(pyramid_dcn::kPluginName) + ": has exactly 1 output");
        // [B, Cout, H, W]: batch of the input, Cout of the weight, grid of the offsets.
        outputs[0].nbDims = 4;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[2].d[0];
        outputs[0].d[2] = inputs[1].d[2];
        outputs[0].d[3] = inputs[1].d[3];
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

bool PyramidDcnPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t, int32_t) noexcept
{
    // Linear FP32 or FP16, every tensor of the same type as the input.
    PluginTensorDesc const& desc = inOut[pos].desc;
    return is_linear_float_or_half(desc) && desc.type == inOut[0].desc.type;
}

int32_t PyramidDcnPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t) noexcept
{
    try
    {
        pyramid_dcn::validate_inputs(shapes_of(in, nbInputs));
        mHasBias = nbInputs == 4;
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

int32_t PyramidDcnPlugin::onShapeChange(
    PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const*, int32_t) noexcept
{
    try
    {
        mGeometry = pyramid_dcn::geometry_from_shapes(shapes_of(in, nbInputs));
        mHasBias = nbInputs == 4;
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

int32_t PyramidDcnPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*,
    void const* const* inputs, void* const* outputs, void*, cudaStream_t stream) noexcept
{
    pyramid_dcn::Tensors const tensors{inputs[0], inputs[1], inputs[2], mHasBias ? inputs[3] : nullptr, outputs[0]};
    cudaError_t const status = pyramid_dcn::launch(element_type(inputDesc[0].type), tensors, mGeometry, stream);
    if (status == cudaSuccess)
        return kSuccess;
    log_error((std::string(pyramid_dcn::kPluginName) + ": kernel launch failed: " + cudaGetErrorString(status)).c_str());
    return kFailure;
}

IPluginV3* PyramidDcnPlugin::attachToContext(IPluginResourceContext*) noexcept
{
    return clone();
}

PluginFieldCollection const* PyramidDcnPlugin::getFieldsToSerialize() noexcept
{
    return &mNoFields;
}

char const* PyramidDcnPluginCreator::getPluginName() const noexcept
{
    return pyramid_dcn::kPluginName;
}

char const* PyramidDcnPluginCreator::getPluginVersion() const noexcept
{
    return kPluginVersion;
}

char const* PyramidDcnPluginCreator::getPluginNamespace() const noexcept
{
    return kPluginNamespace;
}

PluginFieldCollection const* PyramidDcnPluginCreator::getFieldNames() noexcept
{
    return &mNoFields;
}

IPluginV3* PyramidDcnPluginCreator::createPlugin(char const* name, PluginFieldCollection const*, TensorRTPhase) noexcept
{
    try
    {
        return new PyramidDcnPlugin(name ? name : "");
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

} // namespace trt
} // namespace lsnet
