// The two backends behind KeyedStateBackend; OpenStateBackend picks one.
#pragma once

#include <memory>
#include <string>

#include "worker/state/state_backend.h"

namespace sluice {

std::unique_ptr<KeyedStateBackend> NewMemoryStateBackend();
Result<std::unique_ptr<KeyedStateBackend>> OpenRocksDbStateBackend(const std::string& directory);

}  // namespace sluice
