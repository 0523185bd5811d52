// The consumer side of the data plane: the receiving end of a remote
// channel (its buffers, credit and queue) and the one TCP connection per
// producer worker that carries many of them. Internal to the network
// component; DataPlane creates them.
#pragma once

#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/logging.h"
#include "common/net_address.h"
#include "worker/network/buffer_pool.h"
#include "worker/network/connection_util.h"
#include "worker/network/event.h"
#include "worker/network/frame.h"
#include "worker/network/frame_assembler.h"
#include "worker/network/input_gate.h"
#include "worker/network/result_partition.h"

namespace sluice {

class ClientConnection;

// The receiving end of one remote channel, shared by the InputChannel the
// task polls, the connection that fills it, and every buffer it lent out.
class RemoteChannelState final : public BufferRecycler, public std::enable_shared_from_this<RemoteChannelState> {
 public:
  RemoteChannelState(InputGate* gate, int index, std::string description, std::shared_ptr<LocalBufferPool> gate_pool,
                     int exclusive, asio::io_context* io)
      : gate_(gate), index_(index), description_(std::move(description)), gate_pool_(std::move(gate_pool)),
        exclusive_(exclusive), io_(io) {}

  const std::string& description() const { return description_; }
  uint32_t buffer_size() const { return gate_pool_->buffer_size(); }

  // Takes the exclusive buffers; their number is the initial credit.
  int Reserve() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < exclusive_; ++i) {
      uint8_t* segment = gate_pool_->TakeSegment();
      if (segment == nullptr) break;
      free_.push_back(segment);
      ++owned_;
    }
    sender_credit_ = owned_;
    return owned_;
  }

  // False if the task closed the channel before the I/O thread got to
  // attach it: then it must not be requested at all, or nobody would ever
  // close it, and the producer's partition and this gate's buffers would be
  // held for good.
  bool Attach(std::weak_ptr<ClientConnection> connection, uint32_t channel_id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    connection_ = std::move(connection);
    channel_id_ = channel_id;
    return true;
  }

  // --- I/O thread ---
  // Null when the channel has no free segment: without credit (a protocol
  // error), or closed by its task (*closed; the frame is dropped).
  uint8_t* SegmentForReceive(bool* closed) {
    std::lock_guard<std::mutex> lock(mu_);
    *closed = closed_;
    if (closed_ || free_.empty()) return nullptr;
    uint8_t* s = free_.back();
    free_.pop_back();
    return s;
  }

  void OnBuffer(uint8_t* segment, uint32_t size, uint32_t seq, uint32_t backlog) {
    Status bad;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bad = sequence_.Check(seq);
      if (bad.ok() && !closed_) {
        BufferOrEvent entry;
        entry.buffer = PooledBuffer(Buffer{segment, gate_pool_->buffer_size(), size}, shared_from_this());
        queue_.push_back(std::move(entry));
        segment = nullptr;
        --sender_credit_;
        sender_backlog_ = static_cast<int>(backlog);
        // Lend floating buffers where the sender says data waits.
        while (static_cast<int>(free_.size()) < sender_backlog_) {
          uint8_t* floating = gate_pool_->TakeSegment();
          if (floating == nullptr) break;
          free_.push_back(floating);
          ++owned_;
          ++unannounced_;
        }
      }
    }
    if (segment != nullptr) Recycle(segment);
    if (!bad.ok()) {
      Fail(bad.WithPrefix(description_));
      return;
    }
    ScheduleCreditAnnouncement();
    WithGate([this](InputGate& gate) { gate.Notify(index_); });
  }

  void OnEvent(const Event& event) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      BufferOrEvent entry;
      entry.is_event = true;
      entry.event = event;
      if (event.type == EventType::kCheckpointBarrier &&
          (event.unaligned || event.checkpoint_id <= prioritized_barrier_)) {
        entry.event.unaligned = true;
        // It overtakes what this channel has received but the task not yet
        // read: those bytes go with it, for the checkpoint to store.
        auto overtaken = std::make_shared<std::string>();
        for (const auto& queued : queue_) {
          if (queued.is_event) continue;
          const Buffer& b = queued.buffer.get();
          overtaken->append(reinterpret_cast<const char*>(b.data), b.size);
        }
        entry.overtaken = std::move(overtaken);
        queue_.push_front(std::move(entry));
      } else {
        if (event.type == EventType::kCheckpointBarrier && event.checkpoint_id > announced_barrier_.checkpoint_id) {
          announced_barrier_ = event;
        }
        queue_.push_back(std::move(entry));
      }
      if (event.type == EventType::kEndOfPartition) ended_ = true;
    }
    WithGate([this](InputGate& gate) { gate.Notify(index_); });
  }

  bool ended() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }

  void Fail(const Status& status) {
    WithGate([&](InputGate& gate) { gate.Fail(status); });
  }

  int TakeUnannouncedCredit() {
    std::lock_guard<std::mutex> lock(mu_);
    int credit = closed_ ? 0 : unannounced_;
    unannounced_ = 0;
    credit_post_pending_ = false;
    sender_credit_ += credit;
    return credit;
  }

  // --- task thread ---
  bool Poll(BufferOrEvent* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }

  // Barrier `checkpoint_id` turned unaligned at the task: if it is queued
  // here behind data, it moves ahead of it with those bytes; if it has not
  // come yet, it will on arrival.
  void PrioritizeBarrier(int64_t checkpoint_id) {
    bool moved = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      prioritized_barrier_ = std::max(prioritized_barrier_, checkpoint_id);
      for (size_t i = 0; i < queue_.size(); ++i) {
        const BufferOrEvent& queued = queue_[i];
        if (!queued.is_event || queued.event.type != EventType::kCheckpointBarrier ||
            queued.event.checkpoint_id != checkpoint_id) {
          continue;
        }
        if (queued.event.unaligned) break;  // it came unaligned: already ahead
        auto overtaken = std::make_shared<std::string>();
        for (size_t j = 0; j < i; ++j) {
          if (queue_[j].is_event) continue;
          const Buffer& b = queue_[j].buffer.get();
          overtaken->append(reinterpret_cast<const char*>(b.data), b.size);
        }
        BufferOrEvent entry = std::move(queue_[i]);
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
        entry.event.unaligned = true;
        entry.overtaken = std::move(overtaken);
        queue_.push_front(std::move(entry));
        moved = true;
        break;
      }
    }
    if (moved) WithGate([this](InputGate& gate) { gate.Notify(index_); });
  }

  bool AnnouncedBarrier(Event* barrier) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (announced_barrier_.checkpoint_id == 0) return false;
    *barrier = announced_barrier_;
    return true;
  }

  size_t queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

  // Any thread: a buffer the task is done with.
  void Recycle(uint8_t* segment) override {
    bool announce = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || (owned_ > exclusive_ && sender_backlog_ <= static_cast<int>(free_.size()))) {
        --owned_;  // floating and not needed here (or closed): back to the gate
        gate_pool_->Recycle(segment);
        return;
      }
      free_.push_back(segment);
      ++unannounced_;
      announce = true;
    }
    if (announce) ScheduleCreditAnnouncement();
  }

  void Close();

 private:
  void ScheduleCreditAnnouncement();

  // Calls into the gate only while the channel is open: once Close has
  // returned, the task may destroy the gate.
  template <typename F>
  void WithGate(F f) {
    std::lock_guard<std::mutex> lock(gate_mu_);
    if (!gate_closed_) f(*gate_);
  }

  std::mutex gate_mu_;  // held while calling into gate_; before mu_
  bool gate_closed_ = false;
  InputGate* gate_;
  const int index_;
  const std::string description_;
  std::shared_ptr<LocalBufferPool> gate_pool_;
  const int exclusive_;
  asio::io_context* io_;

  mutable std::mutex mu_;
  std::weak_ptr<ClientConnection> connection_;
  uint32_t channel_id_ = 0;
  std::vector<uint8_t*> free_;
  int owned_ = 0;
  int sender_backlog_ = 0;
  int64_t prioritized_barrier_ = 0;  // barriers up to this one arrive as unaligned
  Event announced_barrier_;          // the newest aligned barrier received
  int unannounced_ = 0;
  int sender_credit_ = 0;  // credit the sender holds: announced minus buffers received
  static constexpr int kCreditBatch = 4;
  bool credit_post_pending_ = false;
  bool closed_ = false;
  bool ended_ = false;
  std::deque<BufferOrEvent> queue_;
  SequenceChecker sequence_;
};

// The consumer side of one TCP connection to a producer worker. Touched only
// on the I/O thread.
class ClientConnection final : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(asio::io_context& io, std::string address, std::string peer_worker, uint32_t max_payload,
                   Logger log)
      : io_(io), socket_(io), address_(std::move(address)), peer_worker_(std::move(peer_worker)),
        max_payload_(max_payload), log_(std::move(log)) {}

  bool failed() const { return failed_; }

  void Connect() {
    auto hp = ParseHostPort(address_);
    if (!hp.ok()) {
      FailAll(hp.status().message());
      return;
    }
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(hp->host, ec);
    if (ec) {
      FailAll("bad address: " + ec.message());
      return;
    }
    socket_.async_connect(tcp::endpoint(ip, hp->port), [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        self->FailAll("cannot connect: " + ec.message());
        return;
      }
      self->socket_.set_option(tcp::no_delay(true));
      self->connected_ = true;
      self->ReadHeader();
      self->WriteNext();
    });
  }

  void AddChannel(std::shared_ptr<RemoteChannelState> channel, const PartitionRequest& request) {
    if (failed_) {
      channel->Fail(Status::Unavailable(channel->description() + ": connection to worker " + peer_worker_ + " (" +
                                        address_ + ") failed: " + failure_));
      return;
    }
    uint32_t id = next_channel_id_++;
    if (!channel->Attach(weak_from_this(), id)) return;
    channels_[id] = std::move(channel);
    Enqueue(EncodeFrame(FrameType::kPartitionRequest, id, EncodePartitionRequest(request)));
  }

  void SendCredit(uint32_t id) {
    auto it = channels_.find(id);
    if (it == channels_.end()) return;
    int credit = it->second->TakeUnannouncedCredit();
    if (credit <= 0) return;
    uint8_t payload[4];
    EncodeAddCredit(credit, payload);
    Enqueue(EncodeFrame(FrameType::kAddCredit, id,
                        std::string_view(reinterpret_cast<const char*>(payload), sizeof(payload))));
  }

  void CloseChannel(uint32_t id) {
    if (channels_.erase(id) == 0) return;
    if (!failed_) Enqueue(EncodeFrame(FrameType::kClose, id, {}));
  }

 private:
  void Enqueue(std::string frame) {
    out_.push_back(std::move(frame));
    if (connected_) WriteNext();
  }

  void WriteNext() {
    if (writing_ || out_.empty() || failed_) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) {
                          self->FailAll(ErrorText(ec));
                          return;
                        }
                        self->out_.pop_front();
                        self->WriteNext();
                      });
  }

  void ReadHeader() {
    socket_.async_read_some(asio::buffer(assembler_.write_ptr(), assembler_.write_space()),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return self->FailAll(ErrorText(ec));
                              self->assembler_.Commit(n);
                              if (self->HandleFrames()) self->ReadHeader();
                            });
  }

  // Returns whether to keep reading into the staging buffer; false when the
  // connection failed or a direct read is under way.
  bool HandleFrames() {
    while (!failed_) {
      FrameHeader h;
      const uint8_t* payload = nullptr;
      if (StartDirectRead()) return false;
      auto next = assembler_.Next(&h, &payload);
      if (!next.ok()) {
        FailAll("bad frame: " + next.status().message());
        return false;
      }
      if (!*next) return true;
      auto it = channels_.find(h.channel_id);
      std::shared_ptr<RemoteChannelState> channel = it == channels_.end() ? nullptr : it->second;
      if (!HandleFrame(h, payload, channel)) return false;
    }
    return false;
  }

  // A big buffer frame whose prefix is in but whose payload is not: copy what
  // is here into the channel's buffer and read the rest straight into it,
  // rather than into the staging buffer and then again into the channel's.
  bool StartDirectRead() {
    FrameHeader h;
    auto peek = assembler_.PeekHeader(&h);
    if (!peek.ok() || !*peek || h.type != FrameType::kBuffer) return false;
    size_t frame = kFrameHeaderBytes + h.payload_length;
    size_t have = assembler_.available();
    if (have >= frame || have < kFrameHeaderBytes + kBufferFramePrefixBytes || frame - have < kDirectReadMin) {
      return false;
    }
    auto it = channels_.find(h.channel_id);
    if (it == channels_.end()) return false;
    std::shared_ptr<RemoteChannelState> channel = it->second;
    uint32_t size = h.payload_length - static_cast<uint32_t>(kBufferFramePrefixBytes);
    if (size > channel->buffer_size()) return false;  // the ordinary path reports it
    bool closed = false;
    uint8_t* segment = channel->SegmentForReceive(&closed);
    if (segment == nullptr) return false;  // the ordinary path drops or reports it
    uint32_t seq, backlog;
    DecodeBufferPrefix(assembler_.data() + kFrameHeaderBytes, &seq, &backlog);
    size_t copied = have - kFrameHeaderBytes - kBufferFramePrefixBytes;
    std::memcpy(segment, assembler_.data() + kFrameHeaderBytes + kBufferFramePrefixBytes, copied);
    assembler_.Consume(have);
    asio::async_read(socket_, asio::buffer(segment + copied, size - copied),
                     [self = shared_from_this(), channel, segment, size, seq, backlog](boost::system::error_code ec,
                                                                                      size_t) {
                       if (ec) {
                         channel->Recycle(segment);
                         return self->FailAll(ErrorText(ec));
                       }
                       channel->OnBuffer(segment, size, seq, backlog);
                       if (self->HandleFrames()) self->ReadHeader();
                     });
    return true;
  }

  static constexpr size_t kDirectReadMin = 4096;

  // A frame for a channel closed meanwhile is dropped.
  bool HandleFrame(const FrameHeader& h, const uint8_t* payload, const std::shared_ptr<RemoteChannelState>& channel) {
    switch (h.type) {
      case FrameType::kBuffer: {
        if (!channel) return true;
        uint32_t size = h.payload_length - static_cast<uint32_t>(kBufferFramePrefixBytes);
        if (size > channel->buffer_size()) {
          FailAll("channel " + std::to_string(h.channel_id) + " received a buffer of " + std::to_string(size) +
                  " bytes, larger than its buffers (" + std::to_string(channel->buffer_size()) +
                  "): do both workers have the same network.buffer-size?");
          return false;
        }
        bool closed = false;
        uint8_t* segment = channel->SegmentForReceive(&closed);
        if (closed) return true;  // closed by its task, not yet known here: drop
        if (segment == nullptr) {
          FailAll("channel " + std::to_string(h.channel_id) + " received a buffer without credit");
          return false;
        }
        uint32_t seq, backlog;
        DecodeBufferPrefix(payload, &seq, &backlog);
        std::memcpy(segment, payload + kBufferFramePrefixBytes, size);
        channel->OnBuffer(segment, size, seq, backlog);
        return true;
      }
      case FrameType::kEvent: {
        auto event = DecodeEvent(payload, h.payload_length);
        if (!event.ok()) {
          FailAll("bad event: " + event.status().message());
          return false;
        }
        if (channel) channel->OnEvent(*event);
        return true;
      }
      case FrameType::kError: {
        std::string message(reinterpret_cast<const char*>(payload), h.payload_length);
        if (channel) {
          channel->Fail(Status::Unavailable(channel->description() + ": worker " + peer_worker_ + " (" + address_ +
                                            ") reports: " + message));
        } else if (h.channel_id == 0) {
          FailAll("peer reports: " + message);
          return false;
        }
        return true;
      }
      default:
        FailAll("unexpected frame type " + std::to_string(static_cast<int>(h.type)) + " from a producer");
        return false;
    }
  }

  void FailAll(const std::string& reason) {
    if (failed_) return;
    failed_ = true;
    failure_ = reason;
    boost::system::error_code ignored;
    socket_.close(ignored);
    for (auto& [id, channel] : channels_) {
      if (channel->ended()) continue;  // it has all its data
      channel->Fail(Status::Unavailable(channel->description() + ": connection to worker " + peer_worker_ + " (" +
                                        address_ + ") lost: " + reason));
    }
    if (!channels_.empty()) log_->warn("data connection to {} ({}) failed: {}", peer_worker_, address_, reason);
    channels_.clear();
  }

  asio::io_context& io_;
  tcp::socket socket_;
  const std::string address_;
  const std::string peer_worker_;
  const uint32_t max_payload_;
  Logger log_;
  bool connected_ = false;
  bool writing_ = false;
  bool failed_ = false;
  std::string failure_;
  uint32_t next_channel_id_ = 1;
  std::map<uint32_t, std::shared_ptr<RemoteChannelState>> channels_;
  std::deque<std::string> out_;
  FrameAssembler assembler_{max_payload_};
};


class RemoteInputChannel final : public InputChannel {
 public:
  RemoteInputChannel(InputGate* gate, int index, std::string description, std::shared_ptr<RemoteChannelState> state,
                     std::function<void()> start)
      : InputChannel(gate, index, std::move(description)), state_(std::move(state)), start_(std::move(start)) {}
  ~RemoteInputChannel() override { Close(); }
  void Start() override { start_(); }
  bool Poll(BufferOrEvent* out) override { return state_->Poll(out); }
  void Close() override { state_->Close(); }
  size_t queued_buffers() const override { return state_->queued(); }
  void PrioritizeBarrier(int64_t checkpoint_id) override { state_->PrioritizeBarrier(checkpoint_id); }
  bool AnnouncedBarrier(Event* barrier) const override { return state_->AnnouncedBarrier(barrier); }

 private:
  std::shared_ptr<RemoteChannelState> state_;
  std::function<void()> start_;
};

}  // namespace sluice
