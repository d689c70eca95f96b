// The entry points TensorRT looks for in a plugin library (IPluginRegistry::loadLibrary,
// trtexec --staticPlugins / --setPluginsToSerialize): the creators of both LSNet plugins and the
// hook through which TensorRT lends the library its logger.
#include "../decode/decode_plugin.h"
#include "../pyramid_dcn/pyramid_dcn_plugin.h"
#include "../common/plugin_log.h"

#include <NvInferRuntime.h>

// TensorRT's TENSORRTAPI exports only inside TensorRT's own build; everything else here is hidden.
#define LSNET_PLUGIN_EXPORT __attribute__((visibility("default")))

extern "C" LSNET_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static nvinfer1::IPluginCreatorInterface* const creators[]
        = {lsnet::trt::pyramid_dcn_plugin_creator(), lsnet::trt::decode_plugin_creator()};
    nbCreators = 2;
    return creators;
}

extern "C" LSNET_PLUGIN_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    lsnet::trt::set_logger_finder(finder);
}
