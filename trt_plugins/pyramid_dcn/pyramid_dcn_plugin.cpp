#include "pyramid_dcn_plugin.h"
#include "../common/plugin_base.h"
#include "pyramid_dcn_kernel.h"
#include "pyramid_dcn_shapes.h"

namespace lsnet {
namespace trt {
namespace {

using namespace nvinfer1;

class PyramidDcnPlugin final : public PluginBase<PyramidDcnPlugin>
{
public:
    static constexpr char const* kName = pyramid_dcn::kPluginName;
    static constexpr int32_t kNbOutputs = 1;

    // It has no attributes.
    static std::vector<Attribute> const& attributes()
    {
        static std::vector<Attribute> const none;
        return none;
    }

    static PyramidDcnPlugin* create(std::string name, PluginFieldCollection const*)
    {
        return new PyramidDcnPlugin(std::move(name));
    }

    using PluginBase::PluginBase;

    std::vector<FieldValue> attributeValues() { return {}; }

    void validate(std::vector<Shape> const& inputs) const { pyramid_dcn::validate_inputs(inputs); }

    // The output has the input's type.
    void outputTypes(DataType const* inputs, DataType* outputs) const { outputs[0] = inputs[0]; }

    // [B, Cout, H, W]: batch of the input, Cout of the weight, grid of the offsets.
    void outputShapes(DimsExprs const* inputs, DimsExprs* outputs, IExprBuilder&) const
    {
        outputs[0].nbDims = 4;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[2].d[0];
        outputs[0].d[2] = inputs[1].d[2];
        outputs[0].d[3] = inputs[1].d[3];
    }

    // Linear FP32 or FP16, every tensor of the same type as the input.
    bool supportsFormat(int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t) const
    {
        PluginTensorDesc const& desc = inOut[pos].desc;
        return is_linear_float_or_half(desc) && desc.type == inOut[0].desc.type;
    }

    // The fused kernel needs no scratch memory.
    size_t workspaceSize(std::vector<Shape> const&) const { return 0; }

    void shapesChanged(std::vector<Shape> const& inputs)
    {
        mGeometry = pyramid_dcn::geometry_from_shapes(inputs);
        mHasBias = inputs.size() == 4;
    }

    cudaError_t launch(
        PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs, void*, cudaStream_t stream)
    {
        pyramid_dcn::Tensors const tensors{inputs[0], inputs[1], inputs[2], mHasBias ? inputs[3] : nullptr, outputs[0]};
        return pyramid_dcn::launch(element_type(inputDesc[0].type), tensors, mGeometry, stream);
    }

private:
    // Set by shapesChanged() for the next launch().
    pyramid_dcn::Geometry mGeometry{};
    bool mHasBias = false;
};

} // namespace

IPluginCreatorV3One* pyramid_dcn_plugin_creator()
{
    static PluginCreator<PyramidDcnPlugin> creator;
    return &creator;
}

} // namespace trt
} // namespace lsnet
