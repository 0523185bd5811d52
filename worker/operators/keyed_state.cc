#include "worker/operators/keyed_state.h"

#include "worker/operators/key_encoding.h"
#include "worker/state/state_backends.h"

namespace sluice {

void KeyContext::SetKey(const RowView& row) {
  key_group_ = KeyGroupOf(HashKeyFields(row, hashed_, schema_), max_parallelism_);
  EncodeKey(row, fields_, schema_, &key_);
}

Result<std::unique_ptr<KeyedStateBackend>> OpenOperatorState(const OperatorSetup& setup) {
  if (!setup.open_state) return NewMemoryStateBackend();
  auto backend = setup.open_state();
  if (!backend.ok()) return backend.status().WithPrefix("operator '" + setup.id + "'");
  return backend;
}

Result<int64_t> TakeDue(KeyedStateBackend& state, const std::vector<bool>& key_groups, uint8_t state_id, int64_t due,
                        const DueVisitor& visit) {
  constexpr size_t kTimeOffset = 3;  // after the key group and the state byte
  int64_t next = INT64_MAX;
  StateKey prefix;
  std::vector<std::string> taken;
  for (int kg = 0; kg < static_cast<int>(key_groups.size()); ++kg) {
    if (!key_groups[kg]) continue;
    taken.clear();
    auto it = state.Scan(prefix.Reset(kg, state_id));
    for (; it->Valid(); it->Next()) {
      const int64_t time = StateKey::ReadOrderedInt64(it->key(), kTimeOffset);
      if (time > due) {
        next = std::min(next, time);
        break;
      }
      SLUICE_RETURN_IF_ERROR(visit(kg, it->key(), it->value(), time));
      taken.emplace_back(it->key());
    }
    SLUICE_RETURN_IF_ERROR(it->status());
    for (const auto& key : taken) SLUICE_RETURN_IF_ERROR(state.Delete(key));
  }
  return next;
}

}  // namespace sluice
