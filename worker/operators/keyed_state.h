// What keyed operators share: the current key of a row (its key group and
// bytes) and the opening of their state backend. The key group is computed
// as the HASH partitioner computes it, from the same key fields, so a row's
// state lands in a key group this subtask owns.
#pragma once

#include <string>
#include <vector>

#include "common/records/row.h"
#include "common/records/schema.h"
#include "worker/network/key_groups.h"
#include "worker/operators/operator.h"
#include "worker/state/state_key.h"

namespace sluice {

class KeyContext {
 public:
  KeyContext() = default;
  // The key group is the hash of the first `hashed` fields (all by default):
  // a window join's key is the join key and the window, but its rows are
  // partitioned, and so grouped, by the join key alone.
  KeyContext(std::vector<size_t> fields, Schema schema, int max_parallelism, size_t hashed = SIZE_MAX)
      : fields_(std::move(fields)), schema_(std::move(schema)), max_parallelism_(max_parallelism),
        hashed_(fields_.begin(), fields_.begin() + std::min(hashed, fields_.size())) {}

  // Makes `row`'s key the current one.
  void SetKey(const RowView& row);
  int key_group() const { return key_group_; }
  const std::string& key() const { return key_; }
  const std::vector<size_t>& fields() const { return fields_; }

 private:
  std::vector<size_t> fields_;
  Schema schema_;
  int max_parallelism_ = 128;
  std::vector<size_t> hashed_;
  int key_group_ = 0;
  std::string key_;
};

// Opens the operator's backend through setup.open_state, or an in-memory one
// when the setup has no opener (unit tests).
Result<std::unique_ptr<KeyedStateBackend>> OpenOperatorState(const OperatorSetup& setup);

// Resolves the operator's 'key' option to field indexes of the input.
Result<std::vector<size_t>> KeyFieldsOf(const OperatorSetup& setup, const char* option = "key");

// Appends/reads plain values to/from state values (host byte order: state
// is local to a task's machine, and checkpoints move whole files between
// machines of one architecture).
template <typename T>
void AppendRaw(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
T ReadRaw(std::string_view bytes, size_t* offset) {
  T v;
  std::memcpy(&v, bytes.data() + *offset, sizeof(T));
  *offset += sizeof(T);
  return v;
}

}  // namespace sluice
