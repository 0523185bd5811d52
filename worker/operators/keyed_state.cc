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

Result<std::vector<size_t>> KeyFieldsOf(const OperatorSetup& setup, const char* option) {
  std::vector<size_t> fields;
  for (const auto& name : setup.options.GetList(option)) {
    auto index = setup.input.IndexOf(name);
    if (!index) return Status::InvalidArgument("operator '" + setup.id + "': no key field '" + name + "' in the input");
    fields.push_back(*index);
  }
  return fields;
}

}  // namespace sluice
