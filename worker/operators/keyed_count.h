// The `keyed-count` operator: rows per key over a bounded input, emitted when
// the input ends. Counts live in memory here; keyed state backends (and
// updating results for unbounded input) come with the aggregate operators.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "worker/operators/operator.h"

namespace sluice {

class KeyedCountOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);

  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;

 private:
  KeyedCountOperator(std::vector<size_t> key_fields, Schema input);

  struct Entry {
    std::vector<uint8_t> first_row;  // holds the key's values
    int64_t count = 0;
  };

  const std::vector<size_t> key_fields_;
  const Schema input_;
  std::unordered_map<std::string, Entry> counts_;
  std::string key_;  // reused per row
};

}  // namespace sluice
