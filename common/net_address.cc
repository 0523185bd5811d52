#include "common/net_address.h"

#include "common/config.h"

namespace sluice {

Result<HostPort> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("address '" + text + "' must have the form host:port");
  }
  auto port = ParseInt(text.substr(colon + 1));
  if (!port.ok() || *port < 0 || *port > 65535) {
    return Status::InvalidArgument("address '" + text + "' has an invalid port");
  }
  return HostPort{text.substr(0, colon), static_cast<uint16_t>(*port)};
}

}  // namespace sluice
