#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace sluice {

Logger MakeLogger(const std::string& component, spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(component, sink);
  logger->set_level(level);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
  logger->flush_on(spdlog::level::info);
  return logger;
}

Result<spdlog::level::level_enum> ParseLogLevel(const std::string& text) {
  auto level = spdlog::level::from_str(text);
  if (level == spdlog::level::off && text != "off") {
    return Status::InvalidArgument("unknown log level '" + text +
                                   "' (use trace, debug, info, warn, error or off)");
  }
  return level;
}

}  // namespace sluice
