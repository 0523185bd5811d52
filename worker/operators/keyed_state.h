// What keyed operators share: the current key of a row (its key group and
// bytes) and the opening of their state backend. The key group is computed
// as the HASH partitioner computes it, from the same key fields, so a row's
// state lands in a key group this subtask owns.
#pragma once

#include <functional>
#include <string>
#include <string_view>
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

// State kept in time order, keys [kg][state][time][...] (windows by their
// end, timers): in each key group marked in `key_groups`, visits the entries
// of `state_id` with time <= `due`, oldest first, then deletes them. Returns
// the earliest time left (INT64_MAX: none), for the next firing.
using DueVisitor = std::function<Status(int key_group, std::string_view key, std::string_view value, int64_t time)>;
Result<int64_t> TakeDue(KeyedStateBackend& state, const std::vector<bool>& key_groups, uint8_t state_id, int64_t due,
                        const DueVisitor& visit);

// The latest time a window [start, end) may fire at: its end has passed
// when the watermark reaches end - 1.
inline int64_t DueWindowEnd(int64_t watermark) { return watermark == INT64_MAX ? INT64_MAX : watermark + 1; }

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
