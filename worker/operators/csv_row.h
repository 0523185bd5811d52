// One CSV line into a row of a schema, for the file source and lookup-join's
// side input. Fields split at the format's delimiter; a field starting with
// the quote character runs to the next lone quote (a doubled one is a quote
// of the text, delimiters inside are text). An empty field is NULL, except
// in a STRING column, where it is the empty string; an unquoted field equal
// to the format's null literal is NULL in any column.
#pragma once

#include <string>
#include <string_view>

#include "common/catalog/file_source_spec.h"
#include "common/records/row.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// Fills `builder` (reset first). Errors say which column and value are
// wrong; the caller adds the file and line.
Status ParseCsvRow(std::string_view line, const Schema& schema, RowBuilder& builder,
                   const CsvFormat& format = CsvFormat());

}  // namespace sluice
