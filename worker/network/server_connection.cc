#include "worker/network/server_connection.h"


#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "worker/network/connection_util.h"
#include "worker/network/data_plane.h"
#include "worker/network/event.h"
#include "worker/network/frame.h"
#include "worker/network/frame_assembler.h"
#include "worker/network/partition_manager.h"
#include "worker/network/result_partition.h"

namespace sluice {

namespace {


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

}  // namespace

void ServeConnection(tcp::socket socket, PartitionManager* partitions, const DataPlaneOptions& options,
                     std::shared_ptr<std::atomic<int>> open_connections, Logger log) {
  auto connection = std::make_shared<ServerConnection>(std::move(socket), partitions, options,
                                                       std::move(open_connections), std::move(log));
  connection->Start();
}

}  // namespace sluice
