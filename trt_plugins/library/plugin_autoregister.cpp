// A second flavour of the plugin library for hosts that only dlopen a library and never call
// getCreators — tritonserver (LD_PRELOAD or --backend-config=tensorrt,plugins=…): registering
// the creators with TensorRT's global registry when the library is loaded. It links libnvinfer
// for getPluginRegistry(), which the plain library deliberately does not.
#include "../common/plugin_tensors.h"

#include <NvInferRuntime.h>

#include <cstdint>

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);

namespace
{
struct RegisterOnLoad
{
    RegisterOnLoad()
    {
        int32_t count = 0;
        nvinfer1::IPluginCreatorInterface* const* creators = getCreators(count);
        for (int32_t i = 0; i < count; ++i)
        {
            getPluginRegistry()->registerCreator(*creators[i], lsnet::trt::kPluginNamespace);
        }
    }
};

RegisterOnLoad const registerOnLoad{};
} // namespace
