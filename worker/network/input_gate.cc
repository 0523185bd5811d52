#include "worker/network/input_gate.h"

#include "worker/network/partition_manager.h"

namespace sluice {

void InputChannel::NotifyGate() { gate_->Notify(index_); }
void InputChannel::FailGate(const Status& status) { gate_->Fail(status); }

InputGate::~InputGate() { Close(); }

void InputGate::AddChannel(std::unique_ptr<InputChannel> channel) {
  channels_.push_back(std::move(channel));
  std::lock_guard<std::mutex> lock(mu_);
  in_ready_.push_back(false);
}

void InputGate::Start() {
  for (auto& c : channels_) c->Start();
}

bool InputGate::PollNext(BufferOrEvent* out, int* channel) {
  while (true) {
    int c;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ready_.empty()) return false;
      c = ready_.front();
      ready_.pop_front();
      in_ready_[c] = false;
    }
    if (channels_[c]->Poll(out)) {
      // It may have more: queue it again behind the others (fairness).
      Notify(c);
      *channel = c;
      return true;
    }
  }
}

void InputGate::Notify(int channel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_ready_[channel]) return;
    in_ready_[channel] = true;
    ready_.push_back(channel);
  }
  wakeup_->Signal();
}

void InputGate::Fail(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.ok()) failure_ = status;
  }
  wakeup_->Signal();
}

Status InputGate::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void InputGate::Close() {
  for (auto& c : channels_) c->Close();
}

size_t InputGate::queued_buffers() const {
  size_t n = 0;
  for (const auto& c : channels_) n += c->queued_buffers();
  return n;
}

LocalInputChannel::LocalInputChannel(InputGate* gate, int index, std::string description,
                                     PartitionManager* partitions, ResultPartitionId id, int subpartition)
    : InputChannel(gate, index, std::move(description)),
      partitions_(partitions),
      id_(std::move(id)),
      subpartition_index_(subpartition),
      binding_(std::make_shared<Binding>()) {
  binding_->channel = this;
}

LocalInputChannel::~LocalInputChannel() { Close(); }

void LocalInputChannel::Start() {
  partitions_->Request(id_, [binding = binding_](Result<std::shared_ptr<ResultPartition>> partition) {
    std::lock_guard<std::mutex> lock(binding->mu);
    LocalInputChannel* self = binding->channel;
    if (self == nullptr) return;
    if (!partition.ok()) {
      self->FailGate(partition.status().WithPrefix(self->description_));
      return;
    }
    {
      std::lock_guard<std::mutex> own(self->mu_);
      self->partition_ = *partition;
    }
    Status s = (*partition)->subpartition(self->subpartition_index_).SetListener(self);
    if (!s.ok()) self->FailGate(s.WithPrefix(self->description_));
  });
}

bool LocalInputChannel::Poll(BufferOrEvent* out) {
  std::shared_ptr<ResultPartition> partition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    partition = partition_;
  }
  return partition && partition->subpartition(subpartition_index_).Poll(out, nullptr);
}

void LocalInputChannel::Close() {
  {
    std::lock_guard<std::mutex> lock(binding_->mu);
    binding_->channel = nullptr;
  }
  std::shared_ptr<ResultPartition> partition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    partition.swap(partition_);
  }
  if (partition) partition->subpartition(subpartition_index_).DetachListener();
}

size_t LocalInputChannel::queued_buffers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return partition_ ? partition_->subpartition(subpartition_index_).queued_buffers() : 0;
}

}  // namespace sluice
