// "host:port" parsing shared by the daemons and the CLI.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace sluice {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// Accepts "host:port" with port 0..65535. Errors say what is wrong with it.
Result<HostPort> ParseHostPort(const std::string& text);

}  // namespace sluice
