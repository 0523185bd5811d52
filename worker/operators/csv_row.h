// One CSV line (no quoting; fields split at commas) into a row of a schema,
// for the file source and lookup-join's side input. An empty field is NULL,
// except in a STRING column, where it is the empty string.
#pragma once

#include <string>
#include <string_view>

#include "common/records/row.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// Fills `builder` (reset first). Errors say which column and value are
// wrong; the caller adds the file and line.
Status ParseCsvRow(std::string_view line, const Schema& schema, RowBuilder& builder);

}  // namespace sluice
