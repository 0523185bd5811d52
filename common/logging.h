// Named spdlog loggers, one per component, all writing to stderr (the daemons'
// log). Built without spdlog's global registry so tests can make their own.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace sluice {

using Logger = std::shared_ptr<spdlog::logger>;

// A logger named `component` at `level` ("info", "debug", ...).
Logger MakeLogger(const std::string& component, spdlog::level::level_enum level);

Result<spdlog::level::level_enum> ParseLogLevel(const std::string& text);

}  // namespace sluice
