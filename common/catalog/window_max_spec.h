// The `window-max` operator as written in job files: per window, the rows
// at the maximum of a field, ties included (Nexmark q7's highest bid).
//
//   type: window-max
//   field: price            # numeric or TIMESTAMP
//   time: dateTime          # optional, with size: tumbling windows of this field;
//   size: 10s               # without: the input's window_start and window_end
//
// The output is the input's rows as they are.
#pragma once

#include <cstdint>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct WindowMaxSpec {
  size_t field = 0;  // the value maximized
  // Where a row's window comes from: window_start and window_end of the
  // input, or (size_ms > 0) both the `time` field, placed in tumbling windows.
  size_t window_start = 0;
  size_t window_end = 0;
  int64_t size_ms = 0;
  Schema output;  // the input's

  bool tumbling() const { return size_ms > 0; }
};

Result<WindowMaxSpec> ParseWindowMax(const OperatorOptions& options, const Schema& input);

OperatorSignature WindowMaxSignature();

}  // namespace sluice
