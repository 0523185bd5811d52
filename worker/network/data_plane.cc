#include "worker/network/data_plane.h"

#include <malloc.h>

#include <boost/asio.hpp>

#include <array>
#include <cstring>
#include <atomic>
#include <deque>
#include <map>
#include <thread>

#include "worker/network/event.h"
#include "worker/network/frame.h"
#include "worker/network/frame_assembler.h"

namespace sluice {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string ErrorText(const boost::system::error_code& ec) {
  return ec == asio::error::eof ? "connection closed by peer" : ec.message();
}

// A warning that can repeat thousands of times a second (a connection
// flood): logged at most once per interval, with how many were held back.
class RateLimitedLog {
 public:
  void Note(int64_t now_ms, const std::string& message, spdlog::logger& log) {
    if (now_ms - last_ms_ < kIntervalMs && last_ms_ != 0) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0) {
      log.warn("{} ({} more like it in the last {} s)", message, suppressed_, kIntervalMs / 1000);
    } else {
      log.warn("{}", message);
    }
    last_ms_ = now_ms;
    suppressed_ = 0;
  }

 private:
  static constexpr int64_t kIntervalMs = 10000;
  int64_t last_ms_ = 0;
  int64_t suppressed_ = 0;
};

}  // namespace

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

void RemoteChannelState::ScheduleCreditAnnouncement() {
  std::weak_ptr<ClientConnection> connection;
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (credit_post_pending_ || unannounced_ == 0 || closed_) return;
    // Batch announcements while the sender still has credit to go on with:
    // one small frame per buffer would cost a syscall on each side.
    if (sender_credit_ > 1 && unannounced_ < kCreditBatch) return;
    credit_post_pending_ = true;
    connection = connection_;
    id = channel_id_;
  }
  asio::post(*io_, [connection, id] {
    if (auto c = connection.lock()) c->SendCredit(id);
  });
}

void RemoteChannelState::Close() {
  std::weak_ptr<ClientConnection> connection;
  uint32_t id;
  std::deque<BufferOrEvent> dropped;
  std::vector<uint8_t*> free;
  {
    std::lock_guard<std::mutex> lock(gate_mu_);
    gate_closed_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    connection = connection_;
    id = channel_id_;
    dropped.swap(queue_);
    free.swap(free_);
    owned_ -= static_cast<int>(free.size());
  }
  for (uint8_t* s : free) gate_pool_->Recycle(s);
  dropped.clear();  // recycles into the gate pool: closed_ is set
  asio::post(*io_, [connection, id] {
    if (auto c = connection.lock()) c->CloseChannel(id);
  });
}

namespace {

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

}  // namespace

// The producer side of one TCP connection from a consumer worker. Touched
// only on the I/O thread, except the readers' notifications, which post.
class ServerConnection final : public std::enable_shared_from_this<ServerConnection> {
 public:
  // `open` counts the worker's server connections; this one is in it for
  // as long as it lives.
  ServerConnection(tcp::socket socket, PartitionManager* partitions, const DataPlaneOptions& options,
                   std::shared_ptr<std::atomic<int>> open, Logger log)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), partitions_(partitions), options_(options),
        open_(std::move(open)), log_(std::move(log)) {
    open_->fetch_add(1);
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  ~ServerConnection() {
    DetachAll();
    open_->fetch_sub(1);
  }

  void Start() {
    socket_.set_option(tcp::no_delay(true));
    ArmTimer(options_.handshake_timeout_ms);
    ReadHeader();
  }

  // Consumers send only control frames (requests, credit, close): this
  // bounds them, and so what a peer can make this side buffer.
  static constexpr uint32_t kMaxControlPayload = 16 * 1024;
  // Channels one connection may open; two workers with 64 slots each and a
  // few edges stay far below it.
  static constexpr size_t kMaxChannels = 16384;

 private:
  struct Reader final : SubpartitionListener {
    std::weak_ptr<ServerConnection> connection;
    asio::io_context* io = nullptr;
    uint32_t channel_id = 0;
    std::string consumer;  // "task ... on worker ..."
    std::shared_ptr<ResultPartition> partition;
    int subpartition = 0;
    // Written on the I/O thread only; atomic because the watchdog reads it.
    std::atomic<int> credit{0};
    uint32_t next_seq = 0;
    bool queued = false;
    std::atomic<bool> notify_pending{false};

    void OnDataAvailable() override {
      if (notify_pending.exchange(true)) return;
      asio::post(*io, [c = connection, id = channel_id] {
        if (auto self = c.lock()) self->MarkReady(id, true);
      });
    }
    bool CanTakeData() const override { return credit.load(std::memory_order_relaxed) > 0; }
    std::string Describe() const override {
      return "remote channel " + std::to_string(channel_id) + " of " + consumer + " with credit " +
             std::to_string(credit.load(std::memory_order_relaxed)) +
             (notify_pending.load() ? ", a notification pending" : "");
    }
    void OnStalled(const Status& why) override {
      asio::post(*io, [c = connection, id = channel_id, message = why.message()] {
        if (auto self = c.lock()) self->FailReader(id, message);
      });
    }
  };

  void ReadHeader() {
    socket_.async_read_some(asio::buffer(assembler_.write_ptr(), assembler_.write_space()),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) return self->Fail(ErrorText(ec));
                              self->assembler_.Commit(n);
                              while (!self->closed_) {
                                FrameHeader h;
                                const uint8_t* payload = nullptr;
                                auto next = self->assembler_.Next(&h, &payload);
                                if (!next.ok()) return self->Fail("bad frame: " + next.status().message());
                                if (!*next) break;
                                if (!self->greeted_) {
                                  self->greeted_ = true;
                                  self->timer_.cancel();
                                }
                                if (!self->OnFrame(h, payload)) return;
                              }
                              if (self->closed_) return;
                              self->MaybeIdle();
                              self->ReadHeader();
                            });
  }

  bool OnFrame(const FrameHeader& h, const uint8_t* payload) {
    switch (h.type) {
      case FrameType::kPartitionRequest: {
        auto request = DecodePartitionRequest(payload, h.payload_length);
        if (!request.ok()) {
          Fail("bad partition request: " + request.status().message());
          return false;
        }
        OnPartitionRequest(h.channel_id, *request);
        break;
      }
      case FrameType::kAddCredit: {
        auto credit = DecodeAddCredit(payload, h.payload_length);
        if (!credit.ok()) {
          Fail("bad credit: " + credit.status().message());
          return false;
        }
        auto it = readers_.find(h.channel_id);
        if (it != readers_.end()) {
          it->second->credit.fetch_add(*credit, std::memory_order_relaxed);
          MarkReady(h.channel_id, false);
        }
        break;
      }
      case FrameType::kClose:
        RemoveReader(h.channel_id);
        break;
      default:
        Fail("unexpected frame type " + std::to_string(static_cast<int>(h.type)) + " from a consumer");
        return false;
    }
    return true;
  }

  void OnPartitionRequest(uint32_t channel_id, const PartitionRequest& r) {
    // Replacing a reader would free it while its subpartition still calls it.
    if (readers_.count(channel_id) != 0) {
      return Fail("duplicate partition request for channel " + std::to_string(channel_id));
    }
    if (readers_.size() >= kMaxChannels) {
      return Fail("more than " + std::to_string(kMaxChannels) + " channels on one connection");
    }
    ResultPartitionId id{r.job_id, r.attempt, r.producer_vertex, r.producer_subtask, r.output_index};
    auto reader = std::make_unique<Reader>();
    reader->connection = weak_from_this();
    reader->io = &static_cast<asio::io_context&>(socket_.get_executor().context());
    reader->channel_id = channel_id;
    reader->consumer = "task " + r.consumer_task + " on worker " + r.consumer_worker + " (" + peer_ + ")";
    reader->subpartition = r.subpartition;
    reader->credit.store(r.initial_credit, std::memory_order_relaxed);
    readers_[channel_id] = std::move(reader);
    idle_armed_ = false;
    timer_.cancel();
    // The partition may not exist yet: bind when it does, on this thread.
    partitions_->Request(id, [weak = weak_from_this(), channel_id, io = readers_[channel_id]->io](
                                 Result<std::shared_ptr<ResultPartition>> partition) {
      asio::post(*io, [weak, channel_id, partition] {
        if (auto self = weak.lock()) self->Bind(channel_id, partition);
      });
    });
  }

  void Bind(uint32_t channel_id, const Result<std::shared_ptr<ResultPartition>>& partition) {
    auto it = readers_.find(channel_id);
    if (it == readers_.end()) return;
    Reader& reader = *it->second;
    if (!partition.ok()) {
      SendError(channel_id, partition.status().message());
      readers_.erase(it);
      MaybeIdle();
      return;
    }
    if (reader.subpartition >= (*partition)->num_subpartitions()) {
      SendError(channel_id, "subpartition " + std::to_string(reader.subpartition) + " does not exist");
      readers_.erase(it);
      MaybeIdle();
      return;
    }
    reader.partition = *partition;
    Status s = reader.partition->subpartition(reader.subpartition).SetListener(&reader);
    if (!s.ok()) {
      reader.partition.reset();
      SendError(channel_id, s.message());
      readers_.erase(it);
      MaybeIdle();
    }
  }

  void MarkReady(uint32_t channel_id, bool from_notification) {
    auto it = readers_.find(channel_id);
    if (it == readers_.end()) return;
    if (from_notification) it->second->notify_pending.store(false);
    if (!it->second->queued) {
      it->second->queued = true;
      ready_.push_back(channel_id);
    }
    SendNext();
  }

  void SendNext() {
    if (!writing_ && !control_.empty() && !closed_) {
      writing_ = true;
      asio::async_write(socket_, asio::buffer(control_.front()), [self = shared_from_this()](boost::system::error_code ec, size_t) {
        self->writing_ = false;
        self->control_.pop_front();
        if (ec) return self->Fail(ErrorText(ec));
        self->SendNext();
      });
      return;
    }
    while (!writing_ && !ready_.empty() && !closed_) {
      uint32_t id = ready_.front();
      ready_.pop_front();
      auto it = readers_.find(id);
      if (it == readers_.end()) continue;
      Reader& reader = *it->second;
      reader.queued = false;
      if (!reader.partition) continue;
      int backlog = 0;
      BufferOrEvent entry;
      if (!reader.partition->subpartition(reader.subpartition).Poll(&entry, &backlog, reader.credit > 0)) continue;
      // It may have more: back of the line, so channels take turns.
      reader.queued = true;
      ready_.push_back(id);
      std::vector<asio::const_buffer> out;
      FrameHeader h;
      h.channel_id = id;
      bool end = false;
      if (entry.is_event) {
        h.type = FrameType::kEvent;
        h.payload_length = static_cast<uint32_t>(kEventBytes);
        EncodeEvent(entry.event, event_bytes_.data());
        EncodeFrameHeader(h, out_header_.data());
        out = {asio::buffer(out_header_.data(), kFrameHeaderBytes), asio::buffer(event_bytes_)};
        end = entry.event.type == EventType::kEndOfPartition;
      } else {
        reader.credit.fetch_sub(1, std::memory_order_relaxed);
        h.type = FrameType::kBuffer;
        h.payload_length = static_cast<uint32_t>(kBufferFramePrefixBytes + entry.buffer.get().size);
        EncodeFrameHeader(h, out_header_.data());
        EncodeBufferPrefix(reader.next_seq++, static_cast<uint32_t>(backlog), out_header_.data() + kFrameHeaderBytes);
        out = {asio::buffer(out_header_.data(), kFrameHeaderBytes + kBufferFramePrefixBytes),
               asio::buffer(entry.buffer.get().data, entry.buffer.get().size)};
      }
      in_flight_ = std::move(entry);
      writing_ = true;
      asio::async_write(socket_, out, [self = shared_from_this(), id, end](boost::system::error_code ec, size_t) {
        self->writing_ = false;
        self->in_flight_ = BufferOrEvent();  // the buffer goes back to the producer's pool
        if (ec) return self->Fail(ErrorText(ec));
        if (end) self->RemoveReader(id);  // its consumer has everything
        self->SendNext();
      });
    }
  }

  // The watchdog gave up on this reader: its consumer hears why, and the
  // subpartition is not read any more.
  void FailReader(uint32_t channel_id, const std::string& message) {
    if (readers_.count(channel_id) == 0) return;
    SendError(channel_id, message);
    RemoveReader(channel_id);
  }

  void SendError(uint32_t channel_id, const std::string& message) {
    control_.push_back(EncodeFrame(FrameType::kError, channel_id, message));
    SendNext();
  }

  void RemoveReader(uint32_t id) {
    auto it = readers_.find(id);
    if (it == readers_.end()) return;
    if (it->second->partition) it->second->partition->subpartition(it->second->subpartition).DetachListener();
    readers_.erase(it);
    MaybeIdle();
  }

  // Without channels the idle deadline runs; a new channel stops it.
  void MaybeIdle() {
    if (!greeted_ || !readers_.empty() || idle_armed_) return;
    idle_armed_ = true;
    ArmTimer(options_.idle_timeout_ms);
  }

  // One deadline at a time: the first frame's while greeting, then idleness
  // whenever no channel is open. Holds the connection only weakly.
  void ArmTimer(int64_t ms) {
    if (ms <= 0 || closed_) return;
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([weak = weak_from_this(), ms](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      if (!self->greeted_) {
        self->Fail("no whole frame within " + std::to_string(ms) + " ms of connecting");
      } else if (self->readers_.empty()) {
        self->Fail("idle: no channel for " + std::to_string(ms) + " ms");
      }
    });
  }

  void DetachAll() {
    for (auto& [id, reader] : readers_) {
      if (reader->partition) reader->partition->subpartition(reader->subpartition).DetachListener();
    }
    readers_.clear();
  }

  void Fail(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    for (auto& [id, reader] : readers_) {
      if (!reader->partition) continue;
      reader->partition->subpartition(reader->subpartition).DetachListener();
      // Its consumer is gone before it had everything: the producer fails.
      reader->partition->Fail(Status::Unavailable(reader->partition->id().ToString() + ": connection to consumer " +
                                                  reader->consumer + " lost: " + reason));
    }
    if (!readers_.empty()) log_->warn("data connection from {} failed: {}", peer_, reason);
    readers_.clear();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  PartitionManager* partitions_;
  const DataPlaneOptions& options_;  // the data plane's, which outlives its connections
  std::shared_ptr<std::atomic<int>> open_;
  Logger log_;
  std::string peer_;
  bool greeted_ = false;  // a whole frame came
  bool idle_armed_ = false;
  bool writing_ = false;
  bool closed_ = false;
  std::map<uint32_t, std::unique_ptr<Reader>> readers_;
  std::deque<uint32_t> ready_;
  BufferOrEvent in_flight_;
  std::deque<std::string> control_;  // error frames, sent before data
  FrameAssembler assembler_{kMaxControlPayload};
  std::array<uint8_t, kFrameHeaderBytes + kBufferFramePrefixBytes> out_header_{};
  std::array<uint8_t, kEventBytes> event_bytes_{};
};

struct DataPlane::Impl {
  Impl(const DataPlaneOptions& o, Logger l)
      : options(o), log(std::move(l)), buffers(o.buffer_size, o.memory_bytes), acceptor(io),
        work(asio::make_work_guard(io)) {}

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors (EMFILE, ENFILE) the listen queue stays full:
        // accepting again at once would spin. Back off, and say it once
        // per interval, not once per attempt.
        if (ec != asio::error::operation_aborted) {
          accept_log.Note(SteadyNowMs(), "data plane accept failed: " + ec.message() + "; retrying in 100 ms", *log);
        }
        accept_backoff.expires_after(std::chrono::milliseconds(100));
        accept_backoff.async_wait([this](boost::system::error_code wait_ec) {
          if (!wait_ec) Accept();
        });
        return;
      }
      if (open_connections->load() >= options.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        accept_log.Note(SteadyNowMs(),
                        "data plane: refused a connection: already " + std::to_string(options.max_connections) +
                            " open (network.max-connections)",
                        *log);
      } else {
        auto connection = std::make_shared<ServerConnection>(std::move(socket), &partitions, options,
                                                             open_connections, log);
        connection->Start();
      }
      Accept();
    });
  }

  // The stall watchdog, once a second on the I/O thread: every partition on
  // this worker, running producer or finished, checks its subpartitions.
  void Watch() {
    watchdog.expires_after(std::chrono::seconds(1));
    watchdog.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const int64_t now = SteadyNowMs();
      for (const auto& partition : partitions.All()) {
        Status stalled = partition->CheckStalled(now);
        if (!stalled.ok()) log->error("{}", stalled.message());
      }
      partitions.ExpireRequests(now - options.partition_request_timeout_ms);
      // Closed connections free their buffers into the heap; give the
      // pages back, so a flood of connections leaves no lasting trace.
      int open = open_connections->load();
      if (open < last_open_connections) malloc_trim(0);
      last_open_connections = open;
      Watch();
    });
  }

  uint32_t max_payload() const { return std::max<uint32_t>(options.buffer_size + kBufferFramePrefixBytes, 65536); }

  DataPlaneOptions options;
  Logger log;
  NetworkBufferPool buffers;
  PartitionManager partitions;
  asio::io_context io{1};  // one thread runs it: lets asio skip cross-thread wakeups
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff{io};
  RateLimitedLog accept_log;
  std::shared_ptr<std::atomic<int>> open_connections = std::make_shared<std::atomic<int>>(0);
  int last_open_connections = 0;  // at the watchdog's last look
  asio::steady_timer watchdog{io};
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  HostPort bound;
  std::string worker_id;
  std::mutex mu;  // worker_id
  std::map<std::string, std::shared_ptr<ClientConnection>> clients;  // I/O thread only
};

Result<std::unique_ptr<DataPlane>> DataPlane::Start(const HostPort& listen, const DataPlaneOptions& options,
                                                    Logger log) {
  if (options.buffer_size < 1024) return Status::InvalidArgument("network.buffer-size must be at least 1 KiB");
  if (options.memory_bytes < options.buffer_size * 16ull) {
    return Status::InvalidArgument("network.memory must hold at least 16 network buffers");
  }
  auto impl = std::make_unique<Impl>(options, std::move(log));
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(listen.host, ec);
  if (ec) return Status::InvalidArgument("data address '" + listen.ToString() + "': " + ec.message());
  tcp::endpoint endpoint(ip, listen.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on data address " + listen.ToString() + ": " + ec.message());
  impl->bound = {listen.host, impl->acceptor.local_endpoint().port()};
  impl->Accept();
  impl->Watch();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<DataPlane>(new DataPlane(std::move(impl)));
}

DataPlane::DataPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DataPlane::~DataPlane() {
  asio::post(impl_->io, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->watchdog.cancel();
    impl->accept_backoff.cancel();
    impl->clients.clear();
  });
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const HostPort& DataPlane::bound() const { return impl_->bound; }
const DataPlaneOptions& DataPlane::options() const { return impl_->options; }
NetworkBufferPool& DataPlane::buffers() { return impl_->buffers; }
PartitionManager& DataPlane::partitions() { return impl_->partitions; }

void DataPlane::set_worker_id(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->worker_id = id;
}

Result<std::shared_ptr<LocalBufferPool>> DataPlane::CreateGatePool(int remote_channels, const std::string& what) {
  size_t count = static_cast<size_t>(remote_channels) * impl_->options.exclusive_buffers +
                 (remote_channels > 0 ? impl_->options.floating_buffers : 0);
  return LocalBufferPool::Create(&impl_->buffers, count, what);
}

std::unique_ptr<InputChannel> DataPlane::CreateRemoteChannel(InputGate* gate, int index, std::string description,
                                                             const std::string& producer_address,
                                                             const std::string& producer_worker,
                                                             const ResultPartitionId& id, int subpartition,
                                                             std::shared_ptr<LocalBufferPool> gate_pool,
                                                             const std::string& consumer_task) {
  auto state = std::make_shared<RemoteChannelState>(gate, index, description, std::move(gate_pool),
                                                    impl_->options.exclusive_buffers, &impl_->io);
  PartitionRequest request;
  request.job_id = id.job_id;
  request.attempt = id.attempt;
  request.producer_vertex = id.vertex_id;
  request.producer_subtask = id.subtask;
  request.output_index = id.output_index;
  request.subpartition = subpartition;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    request.consumer_worker = impl_->worker_id;
  }
  request.consumer_task = consumer_task;
  // The exclusive buffers are taken now, while the gate is built, not when
  // the channel starts: a channel started earlier may already be lending
  // the gate's buffers out as floating ones, and could take a later
  // channel's share too. That channel would then ask with no credit, and
  // never get a buffer to earn any: a hang.
  request.initial_credit = state->Reserve();
  Impl* impl = impl_.get();
  auto start = [impl, state, request, producer_address, producer_worker]() mutable {
    asio::post(impl->io, [impl, state, request, producer_address, producer_worker] {
      auto& client = impl->clients[producer_address];
      if (!client || client->failed()) {
        client = std::make_shared<ClientConnection>(impl->io, producer_address, producer_worker, impl->max_payload(),
                                                    impl->log);
        client->Connect();
      }
      client->AddChannel(state, request);
    });
  };
  return std::make_unique<RemoteInputChannel>(gate, index, std::move(description), state, std::move(start));
}

}  // namespace sluice
