#include "worker/network/client_connection.h"

namespace sluice {

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

}  // namespace sluice
