// What the data-plane tests share: small planes and partitions, and raw
// sockets that speak (or break) the frame protocol themselves.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "worker/network/data_plane.h"
#include "worker/network/event.h"
#include "worker/network/frame.h"

namespace sluice::net_test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr uint32_t kBufferSize = 1024;
inline constexpr uint32_t kMaxRecordBytes = 1 << 20;
inline constexpr int64_t kWaitMs = 5000;  // upper bound of every wait; tests normally take far less

inline bool WaitUntil(const std::function<bool()>& condition, int64_t timeout_ms = kWaitMs) {
  auto deadline = Clock::now() + milliseconds(timeout_ms);
  while (!condition()) {
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

inline bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline DataPlaneOptions SmallOptions() {
  DataPlaneOptions o;
  o.buffer_size = kBufferSize;
  o.memory_bytes = 256 * kBufferSize;  // 256 buffers
  o.exclusive_buffers = 2;
  o.floating_buffers = 8;
  return o;
}

inline std::unique_ptr<DataPlane> StartPlane(const std::string& worker_id, DataPlaneOptions options = SmallOptions()) {
  auto plane = DataPlane::Start({"127.0.0.1", 0}, options, MakeLogger("data-plane-test", spdlog::level::off));
  EXPECT_TRUE(plane.ok()) << plane.status().ToString();
  if (!plane.ok()) return nullptr;
  EXPECT_NE((*plane)->bound().port, 0);
  (*plane)->set_worker_id(worker_id);
  return std::move(*plane);
}

inline ResultPartitionId PartitionIdFor(const std::string& vertex = "source", int subtask = 0) {
  return ResultPartitionId{"job-1", 0, vertex, subtask, 0};
}

// A partition the way a task makes one: its own LocalBufferPool, and removed
// from the manager once every subpartition has been consumed.
inline std::shared_ptr<ResultPartition> MakePartition(DataPlane& plane, const ResultPartitionId& id, int subpartitions,
                                               size_t pool_buffers = 16) {
  auto pool = LocalBufferPool::Create(&plane.buffers(), pool_buffers, "output of " + id.ToString());
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  if (!pool.ok()) return nullptr;
  PartitionManager* manager = &plane.partitions();
  return std::make_shared<ResultPartition>(id, subpartitions, std::move(*pool),
                                           [manager](const ResultPartitionId& done) { manager->OnConsumed(done); });
}

// ---- Raw sockets ------------------------------------------------------------

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Socket() { Close(); }
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

inline sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

inline Socket ConnectTo(uint16_t port) {
  Socket s(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr = Loopback(port);
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    return Socket();
  }
  int one = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return s;
}

// A listening socket on an ephemeral port: a fake producer.
class RawServer {
 public:
  RawServer() : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr = Loopback(0);
    EXPECT_EQ(::bind(listener_.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(listener_.fd(), 8), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listener_.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  Socket Accept(int timeout_ms = kWaitMs) {
    pollfd p{listener_.fd(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) {
      ADD_FAILURE() << "no connection within " << timeout_ms << " ms";
      return Socket();
    }
    Socket s(::accept(listener_.fd(), nullptr, nullptr));
    int one = 1;
    ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
  }

 private:
  Socket listener_;
  uint16_t port_ = 0;
};

inline bool SendAll(const Socket& s, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(s.fd(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

enum class ReadOutcome { kOk, kTimeout, kClosed };

inline std::ostream& operator<<(std::ostream& os, ReadOutcome r) {
  return os << (r == ReadOutcome::kOk ? "a frame" : r == ReadOutcome::kTimeout ? "a timeout" : "the connection closed");
}

inline ReadOutcome ReadExact(const Socket& s, uint8_t* out, size_t n, int64_t timeout_ms) {
  auto deadline = Clock::now() + milliseconds(timeout_ms);
  size_t done = 0;
  while (done < n) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return ReadOutcome::kTimeout;
    pollfd p{s.fd(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready == 0) return ReadOutcome::kTimeout;
    if (ready < 0) return ReadOutcome::kClosed;
    ssize_t got = ::recv(s.fd(), out + done, n - done, 0);
    if (got <= 0) return ReadOutcome::kClosed;
    done += static_cast<size_t>(got);
  }
  return ReadOutcome::kOk;
}

struct RawFrame {
  FrameHeader header;
  std::vector<uint8_t> payload;

  uint32_t seq() const {
    uint32_t seq, backlog;
    DecodeBufferPrefix(payload.data(), &seq, &backlog);
    return seq;
  }
  uint32_t backlog() const {
    uint32_t seq, backlog;
    DecodeBufferPrefix(payload.data(), &seq, &backlog);
    return backlog;
  }
  std::string data() const {
    return std::string(payload.begin() + kBufferFramePrefixBytes, payload.end());
  }
  Event event() const {
    auto e = DecodeEvent(payload.data(), payload.size());
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : Event{};
  }
};

// Waits up to timeout_ms for the start of a frame, then reads it whole.
inline ReadOutcome ReadFrame(const Socket& s, RawFrame* frame, int64_t timeout_ms = kWaitMs) {
  uint8_t header[kFrameHeaderBytes];
  ReadOutcome r = ReadExact(s, header, 1, timeout_ms);
  if (r != ReadOutcome::kOk) return r;
  r = ReadExact(s, header + 1, kFrameHeaderBytes - 1, kWaitMs);
  if (r != ReadOutcome::kOk) return r;
  Status st = DecodeFrameHeader(header, kFrameHeaderBytes, 1 << 20, &frame->header);
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!st.ok()) return ReadOutcome::kClosed;
  frame->payload.assign(frame->header.payload_length, 0);
  if (frame->header.payload_length == 0) return ReadOutcome::kOk;
  return ReadExact(s, frame->payload.data(), frame->payload.size(), kWaitMs);
}

inline std::string RequestFrame(uint32_t channel, const ResultPartitionId& id, int subpartition, int credit,
                         const std::string& worker = "raw-worker", const std::string& task = "raw-task") {
  PartitionRequest r;
  r.job_id = id.job_id;
  r.attempt = id.attempt;
  r.producer_vertex = id.vertex_id;
  r.producer_subtask = id.subtask;
  r.output_index = id.output_index;
  r.subpartition = subpartition;
  r.initial_credit = credit;
  r.consumer_worker = worker;
  r.consumer_task = task;
  return EncodeFrame(FrameType::kPartitionRequest, channel, EncodePartitionRequest(r));
}

inline std::string AddCreditFrame(uint32_t channel, int32_t credit) {
  uint8_t payload[kAddCreditPayloadBytes];
  EncodeAddCredit(credit, payload);
  return EncodeFrame(FrameType::kAddCredit, channel,
                     std::string_view(reinterpret_cast<const char*>(payload), sizeof(payload)));
}

inline std::string BufferFrame(uint32_t channel, uint32_t seq, uint32_t backlog, std::string_view data) {
  std::string frame(kFrameHeaderBytes + kBufferFramePrefixBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(frame.data());
  EncodeFrameHeader({static_cast<uint32_t>(kBufferFramePrefixBytes + data.size()), FrameType::kBuffer, channel}, p);
  EncodeBufferPrefix(seq, backlog, p + kFrameHeaderBytes);
  frame.append(data);
  return frame;
}

inline std::string EventFrame(uint32_t channel, const Event& event) {
  uint8_t payload[kEventBytes];
  EncodeEvent(event, payload);
  return EncodeFrame(FrameType::kEvent, channel,
                     std::string_view(reinterpret_cast<const char*>(payload), sizeof(payload)));
}

// Queues one data buffer of `size` bytes, every byte `fill`.
inline void AddBuffer(ResultPartition& partition, int subpartition, uint32_t size, uint8_t fill) {
  PooledBuffer b = partition.pool().Take(0);
  ASSERT_TRUE(b.valid()) << "partition pool too small for the test";
  std::memset(b.get().data, fill, size);
  b.get().size = size;
  partition.subpartition(subpartition).Add(std::move(b));
}

}  // namespace sluice::net_test
