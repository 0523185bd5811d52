// The `window-aggregate` operator as written in job files: aggregates per
// key and window, fired when the watermark (or the clock) passes the
// window's end.
//
//   type: window-aggregate
//   time: dateTime            # event time; or `processing-time: true`
//   size: 10s                 # tumbling windows, or with `slide` sliding ones
//   slide: 2s                 # optional: size must be a multiple of it
//   gap: 5s                   # instead of size: session windows
//   key: [auction]            # optional: omitted = one global window per range
//   aggregates: ["count(*) AS bids", "max(price) AS maxPrice"]
//
// The output is the key fields, window_start, window_end, then the
// aggregates (aggregate_spec.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/catalog/aggregate_spec.h"
#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct WindowAggregateSpec {
  // Windows of the wall clock when a row arrives, instead of event time.
  bool processing_time = false;
  std::optional<size_t> time;  // the TIMESTAMP field of event time; unset with processing_time
  // Tumbling (slide_ms == size_ms) or sliding windows; both 0 for sessions.
  int64_t size_ms = 0;
  int64_t slide_ms = 0;
  // > 0: session windows that close after this long without rows of a key.
  int64_t gap_ms = 0;
  std::vector<size_t> key;  // field indexes of the input; empty: one global key
  std::vector<AggregateSpec> aggregates;
  Schema output;

  bool session() const { return gap_ms > 0; }
};

Result<WindowAggregateSpec> ParseWindowAggregate(const OperatorOptions& options, const Schema& input);

OperatorSignature WindowAggregateSignature();

}  // namespace sluice
