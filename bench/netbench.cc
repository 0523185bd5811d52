// sluice-netbench: throughput of one remote channel of the data plane against
// a plain TCP socket, in one run on the same machine.
//
// Both paths carry the same stream: rows of --row-bytes bytes, length-prefixed
// and packed into --buffer-bytes buffers, parsed back into rows on the other
// side. The channel path adds what Sluice adds: buffer pools, the partition
// queue, frames, credit and the consumer's input gate.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "common/records/row.h"
#include "worker/network/data_plane.h"
#include "worker/network/record_span.h"

namespace {

using namespace sluice;
using Clock = std::chrono::steady_clock;

std::vector<uint8_t> MakeRow(uint32_t row_bytes) {
  RowBuilder builder(3);
  builder.SetInt64(0, 42);
  builder.SetInt64(1, 7);
  // The header, bitmap and three slots take 40 bytes; the string pads to size.
  uint32_t fixed = static_cast<uint32_t>(row_layout::FixedBytes(3));
  builder.SetString(2, std::string(row_bytes > fixed ? row_bytes - fixed : 0, 'x'));
  return CopyRow(builder.Finish());
}

struct PathResult {
  double seconds = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

// Parses every record out of a stream of buffers; counts them.
class Counter {
 public:
  explicit Counter(uint32_t max) : reader_(max) {}
  Status Consume(const uint8_t* data, uint32_t size) {
    reader_.SetBuffer(data, size);
    const uint8_t* record;
    uint32_t n;
    while (true) {
      auto next = reader_.Next(&record, &n);
      if (!next.ok()) return next.status();
      if (!*next) return Status::Ok();
      checksum_ += RowView(record).GetInt64(0);
      ++rows_;
    }
  }
  uint64_t rows() const { return rows_; }

 private:
  RecordSpanReader reader_;
  uint64_t rows_ = 0;
  uint64_t checksum_ = 0;
};

PathResult RunChannel(uint64_t total_bytes, uint32_t row_bytes, DataPlaneOptions options) {
  Logger log = MakeLogger("netbench", spdlog::level::warn);
  options.memory_bytes = 64ull << 20;
  auto producer = DataPlane::Start({"127.0.0.1", 0}, options, log);
  auto consumer = DataPlane::Start({"127.0.0.1", 0}, options, log);
  if (!producer.ok() || !consumer.ok()) {
    std::cerr << "netbench: cannot start data planes\n";
    std::exit(1);
  }
  ResultPartitionId id{"bench", 1, "producer", 0, 0};
  auto pool = LocalBufferPool::Create(&(*producer)->buffers(), options.exclusive_buffers + options.floating_buffers,
                                      "netbench output");
  auto partition = std::make_shared<ResultPartition>(id, 1, *pool, nullptr);
  (*producer)->partitions().Register(partition);

  Wakeup wakeup;
  InputGate gate(&wakeup);
  auto gate_pool = (*consumer)->CreateGatePool(1, "netbench input");
  gate.AddChannel((*consumer)->CreateRemoteChannel(&gate, 0, "netbench channel", (*producer)->bound().ToString(),
                                                   "producer", id, 0, *gate_pool, "bench"));
  std::vector<uint8_t> row = MakeRow(row_bytes);
  uint64_t rows = total_bytes / row.size();

  auto start = Clock::now();
  gate.Start();
  std::thread writer([&] {
    RecordSpanWriter span;
    PooledBuffer current;
    for (uint64_t i = 0; i < rows; ++i) {
      span.Start(row.data(), static_cast<uint32_t>(row.size()));
      while (true) {
        while (!current.valid()) current = partition->pool().Take(100);
        bool whole = span.CopyTo(current.get());
        if (current.get().full()) partition->subpartition(0).Add(std::move(current));
        if (whole) break;
      }
    }
    if (current.valid() && current.get().size > 0) partition->subpartition(0).Add(std::move(current));
    partition->subpartition(0).AddEvent(Event::EndOfPartition());
  });
  Counter counter(16u << 20);
  while (true) {
    BufferOrEvent entry;
    int channel;
    if (!gate.PollNext(&entry, &channel)) {
      if (!gate.failure().ok()) {
        std::cerr << "netbench: " << gate.failure().message() << "\n";
        std::exit(1);
      }
      wakeup.Wait(10);
      continue;
    }
    if (entry.is_event) break;
    Status s = counter.Consume(entry.buffer.get().data, entry.buffer.get().size);
    if (!s.ok()) {
      std::cerr << "netbench: " << s.message() << "\n";
      std::exit(1);
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  writer.join();
  gate.Close();
  if (counter.rows() != rows) {
    std::cerr << "netbench: channel delivered " << counter.rows() << " of " << rows << " rows\n";
    std::exit(1);
  }
  return {seconds, rows, rows * row.size()};
}

PathResult RunSocket(uint64_t total_bytes, uint32_t row_bytes, uint32_t buffer_bytes) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("netbench: socket");
    std::exit(1);
  }
  std::vector<uint8_t> row = MakeRow(row_bytes);
  uint64_t rows = total_bytes / row.size();
  auto start = Clock::now();
  std::thread writer([&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) std::exit(1);
    std::vector<uint8_t> segment(buffer_bytes);
    Buffer buffer{segment.data(), buffer_bytes, 0};
    RecordSpanWriter span;
    auto send_all = [&] {
      size_t sent = 0;
      while (sent < buffer.size) {
        ssize_t n = send(fd, buffer.data + sent, buffer.size - sent, 0);
        if (n <= 0) std::exit(1);
        sent += static_cast<size_t>(n);
      }
      buffer.size = 0;
    };
    for (uint64_t i = 0; i < rows; ++i) {
      span.Start(row.data(), static_cast<uint32_t>(row.size()));
      while (true) {
        bool whole = span.CopyTo(buffer);
        if (buffer.full()) send_all();
        if (whole) break;
      }
    }
    send_all();
    close(fd);
  });
  int fd = accept(listener, nullptr, nullptr);
  std::vector<uint8_t> segment(buffer_bytes);
  Counter counter(16u << 20);
  while (true) {
    ssize_t n = recv(fd, segment.data(), segment.size(), 0);
    if (n <= 0) break;
    if (!counter.Consume(segment.data(), static_cast<uint32_t>(n)).ok()) std::exit(1);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  writer.join();
  close(fd);
  close(listener);
  if (counter.rows() != rows) {
    std::cerr << "netbench: socket delivered " << counter.rows() << " of " << rows << " rows\n";
    std::exit(1);
  }
  return {seconds, rows, rows * row.size()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice-netbench: one remote channel vs a plain socket, same buffers, same rows."};
  uint64_t total_bytes = 2ull << 30;
  uint32_t row_bytes = 100, buffer_bytes = 32 * 1024;
  DataPlaneOptions options;
  app.add_option("--bytes", total_bytes, "Bytes of rows to stream through each path")->check(CLI::PositiveNumber);
  app.add_option("--row-bytes", row_bytes, "Encoded size of one row (at least 40)")->check(CLI::Range(40u, 1u << 24));
  app.add_option("--buffer-bytes", buffer_bytes, "Network buffer size")->check(CLI::Range(1024u, 1u << 24));
  app.add_option("--exclusive-buffers", options.exclusive_buffers, "Buffers per remote channel (network.exclusive-buffers)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--floating-buffers", options.floating_buffers, "Floating buffers per gate (network.floating-buffers)")
      ->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);
  options.buffer_size = buffer_bytes;

  PathResult channel = RunChannel(total_bytes, row_bytes, options);
  PathResult plain = RunSocket(total_bytes, row_bytes, buffer_bytes);
  double ch_bps = channel.bytes / channel.seconds, sock_bps = plain.bytes / plain.seconds;
  std::printf(
      "{\"row_bytes\":%u,\"buffer_bytes\":%u,\"bytes\":%llu,\"rows\":%llu,"
      "\"channel_bytes_per_second\":%.0f,\"channel_records_per_second\":%.0f,"
      "\"socket_bytes_per_second\":%.0f,\"socket_records_per_second\":%.0f,\"ratio\":%.3f}\n",
      row_bytes, buffer_bytes, static_cast<unsigned long long>(channel.bytes),
      static_cast<unsigned long long>(channel.rows), ch_bps, channel.rows / channel.seconds, sock_bps,
      plain.rows / plain.seconds, ch_bps / sock_bps);
  return 0;
}
