// Renders rows as JSON objects, keys = field names, for the JSON-lines file
// sink and the stdout sink.
#pragma once

#include <cstdint>
#include <string>

#include "common/records/row.h"
#include "common/records/schema.h"

namespace sluice {

// Appends one JSON object (no trailing newline) to *out. NULL -> null, BOOL ->
// true/false, INT64 -> number, DOUBLE -> shortest round-trip number (NaN and
// infinities as null), DECIMAL -> number with exactly `scale` digits after the
// point, STRING -> escaped JSON string, TIMESTAMP -> "yyyy-MM-dd HH:mm:ss.SSS"
// in UTC (as Flink prints TIMESTAMP(3)).
void AppendRowJson(const RowView& row, const Schema& schema, std::string* out);

// "yyyy-MM-dd HH:mm:ss.SSS" in UTC.
void AppendTimestamp(int64_t millis, std::string* out);

// The unscaled value with exactly `scale` digits after the point: "-0.05".
void AppendDecimal(int64_t unscaled, int32_t scale, std::string* out);

// Java's Double.toString text (shortest round-trip digits): "3.0", "0.908",
// "1.0E7", "1.0E-4"; "NaN", "Infinity", "-Infinity" for non-finite values.
void AppendDouble(double value, std::string* out);

}  // namespace sluice
