#include "worker/network/data_plane.h"

#include <malloc.h>

#include <atomic>
#include <map>
#include <thread>

#include "worker/network/client_connection.h"
#include "worker/network/connection_util.h"
#include "worker/network/server_connection.h"

namespace sluice {

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
        ServeConnection(std::move(socket), &partitions, options, open_connections, log);
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
