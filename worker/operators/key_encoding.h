// Keys of keyed operators as bytes: a null flag per field, then the 8-byte
// value or the string with its length, so distinct keys never collide. Also
// the small rows that hold a key's values for output.
#pragma once

#include <string>
#include <vector>

#include "common/records/row.h"
#include "common/records/schema.h"

namespace sluice {

void EncodeKey(const RowView& row, const std::vector<size_t>& fields, const Schema& schema, std::string* out);

// Copies `fields` of `row` into fields first_output.. of `builder`.
void CopyFields(const RowView& row, const std::vector<size_t>& fields, const Schema& schema, size_t first_output,
                RowBuilder& builder);

}  // namespace sluice
