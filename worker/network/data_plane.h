// A worker's data plane: its network buffer pool, its result partitions, and
// the TCP side (Boost.Asio, one I/O thread). One connection per pair of
// workers carries many channels; a sender sends a buffer only against the
// receiver's credit and announces its backlog with every buffer, so a slow
// channel stalls only itself, never the connection.
#pragma once

#include <memory>
#include <string>

#include "common/logging.h"
#include "common/net_address.h"
#include "common/status.h"
#include "worker/network/buffer_pool.h"
#include "worker/network/input_gate.h"
#include "worker/network/partition_manager.h"

namespace sluice {

struct DataPlaneOptions {
  uint32_t buffer_size = 32 * 1024;
  uint64_t memory_bytes = 64ull << 20;
  int exclusive_buffers = 2;  // per remote input channel, as in Flink
  // Per input gate (and per output). Flink uses 8; with 24 a busy channel
  // keeps enough buffers in flight that its threads hand over several per
  // wake-up (sluice-netbench on two cores: median 0.45 -> 0.59 of a plain
  // socket). Floating buffers cost per gate, not per channel, so this scales
  // where more exclusive buffers would not.
  int floating_buffers = 24;

  // Bounds on what a peer can hold on this worker's data port. A peer is
  // another worker, or anything that reaches the port.
  // Connections accepted at once; past it new ones are closed at once. Two
  // workers need one each way, so 1024 serves a cluster of hundreds.
  int max_connections = 1024;
  // A new connection must send a whole first frame (its partition request)
  // within this: a partial header cannot hold a connection.
  int64_t handshake_timeout_ms = 10000;
  // A connection that reads no partition for this long is closed; a worker
  // reconnects when it needs one again.
  int64_t idle_timeout_ms = 300000;
  // A partition request waits this long for its producer to be deployed
  // here, then is answered "not found" and forgotten. A producer that
  // restores a large state before it registers needs it generous.
  int64_t partition_request_timeout_ms = 120000;
};

class DataPlane {
 public:
  static Result<std::unique_ptr<DataPlane>> Start(const HostPort& listen, const DataPlaneOptions& options,
                                                  Logger log);
  ~DataPlane();

  const HostPort& bound() const;
  const DataPlaneOptions& options() const;
  // Named in partition requests, so producers can name their consumers.
  void set_worker_id(const std::string& id);
  NetworkBufferPool& buffers();
  PartitionManager& partitions();

  // Receive buffers of an input gate: the exclusive ones of each remote
  // channel plus the gate's floating ones.
  Result<std::shared_ptr<LocalBufferPool>> CreateGatePool(int remote_channels, const std::string& what);

  // A channel that reads subpartition `subpartition` of partition `id` from
  // the worker at `producer_address`, over this worker's one connection to it.
  std::unique_ptr<InputChannel> CreateRemoteChannel(InputGate* gate, int index, std::string description,
                                                    const std::string& producer_address,
                                                    const std::string& producer_worker, const ResultPartitionId& id,
                                                    int subpartition, std::shared_ptr<LocalBufferPool> gate_pool,
                                                    const std::string& consumer_task);

  struct Impl;

 private:
  explicit DataPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
