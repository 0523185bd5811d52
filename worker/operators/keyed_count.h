// The `keyed-count` operator: rows per key over a bounded input, emitted when
// the input ends. Counts are pre-aggregated in a bounded buffer and kept in
// keyed state ([kg][1][key] -> key row + count), so any number of keys fits.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "common/catalog/keyed_count_spec.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

class KeyedCountOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  KeyedStateBackend* keyed_state() override { return state_.get(); }
  Status PrepareSnapshot(int64_t checkpoint_id, Collector& out) override;
  void AfterRestore() override;
  uint64_t buffered_entries() const override { return buffer_.size(); }

  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;

 private:
  KeyedCountOperator() = default;
  Status FlushBuffer();

  struct Entry {
    std::string key_row;  // the key's values as a row
    int64_t count = 0;
  };

  KeyContext key_;
  Schema input_;
  std::vector<bool> touched_;  // key groups with state
  std::unique_ptr<KeyedStateBackend> state_;
  std::unordered_map<std::string, Entry> buffer_;  // by state key
  StateKey state_key_;
  std::string value_;
  std::unique_ptr<RowBuilder> key_builder_;
};

}  // namespace sluice
