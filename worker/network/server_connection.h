// The producer side of the data plane: one TCP connection from a consumer
// worker, serving its partition requests against credit. Internal to the
// network component; DataPlane accepts the connections.
#pragma once

#include <atomic>
#include <memory>

#include "common/logging.h"
#include "worker/network/connection_util.h"
#include "worker/network/data_plane.h"
#include "worker/network/partition_manager.h"

namespace sluice {

// Serves one accepted connection until it closes or fails; it lives on the
// socket's I/O thread and keeps itself alive. `open_connections` counts it
// for as long as it lives. `options` must outlive it (the data plane's).
void ServeConnection(tcp::socket socket, PartitionManager* partitions, const DataPlaneOptions& options,
                     std::shared_ptr<std::atomic<int>> open_connections, Logger log);

}  // namespace sluice
