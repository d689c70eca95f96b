#include "plugin_log.h"

#include <atomic>
#include <cstdio>

namespace lsnet {
namespace trt {
namespace {

std::atomic<nvinfer1::ILoggerFinder*> gLoggerFinder{nullptr};

} // namespace

void set_logger_finder(nvinfer1::ILoggerFinder* finder) noexcept
{
    gLoggerFinder.store(finder);
}

void log_error(char const* message) noexcept
{
    nvinfer1::ILoggerFinder* finder = gLoggerFinder.load();
    nvinfer1::ILogger* logger = finder ? finder->findLogger() : nullptr;
    if (logger)
        logger->log(nvinfer1::ILogger::Severity::kERROR, message);
    else
        std::fprintf(stderr, "[lsnet plugins] %s\n", message);
}

} // namespace trt
} // namespace lsnet
