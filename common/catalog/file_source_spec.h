// The file source and the CSV columns it shares with lookup-join, as written
// in job files (as Flink's filesystem connector with the CSV format):
//
//   type: file-source
//   path: /data/bids            # a file, or a directory of files
//   columns: [auction BIGINT, price BIGINT, ts TIMESTAMP(3)]
//   time: ts                    # optional: the event-time column
//   watermark-delay: 2s         # optional: bounded out-of-orderness
//
// Lines are CSV without header; an empty field is NULL (but in a STRING
// column). The files are those in the directory when the job starts (not
// starting with '.'), each read by one subtask; the source is bounded.
#pragma once

#include <optional>
#include <string>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// 'columns': ["name TYPE", ...]; errors name the option.
Result<Schema> ParseColumns(const OperatorOptions& options);

struct FileSourceSpec {
  std::string path;
  Schema schema;
  std::optional<size_t> time;  // a TIMESTAMP column of schema
  int64_t watermark_delay_ms = 0;
};

Result<FileSourceSpec> ParseFileSource(const OperatorOptions& options);

OperatorSignature FileSourceSignature();

}  // namespace sluice
