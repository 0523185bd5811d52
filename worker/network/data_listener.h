// The worker's data-plane listening socket. It is bound at start so the
// worker can register the address it actually holds (port 0 resolves here);
// the credit-based channel server that accepts on it is the data plane's.
#pragma once

#include <memory>
#include <string>

#include "common/net_address.h"
#include "common/status.h"

namespace sluice {

class DataListener {
 public:
  static Result<std::unique_ptr<DataListener>> Bind(const HostPort& address);
  ~DataListener();
  const HostPort& bound() const { return bound_; }

 private:
  DataListener() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HostPort bound_;
};

}  // namespace sluice
