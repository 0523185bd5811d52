// The file source and the CSV columns it shares with lookup-join, as written
// in job files (as Flink's filesystem connector with the CSV format):
//
//   type: file-source
//   path: /data/bids            # a file, or a directory of files
//   columns: [auction BIGINT, price BIGINT, ts TIMESTAMP(3)]
//   time: ts                    # optional: the event-time column
//   watermark-delay: 2s         # optional: bounded out-of-orderness
//
//   header: true                # optional: skip each file's first line
//   delimiter: ";"              # optional: the field delimiter (default ,)
//   quote: "'"                  # optional: the quote character (default ")
//   null-literal: "\\N"          # optional: a field reading NULL
//
// An empty field is NULL (but in a STRING column). A field that starts with
// the quote character ends at the next lone one; a doubled quote inside is a
// quote, and delimiters inside are text. A quoted field does not span lines.
// The files are those in the directory when the job starts (not starting
// with '.'), each read by one subtask; the source is bounded.
#pragma once

#include <optional>
#include <string>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// 'columns': ["name TYPE", ...]; errors name the option.
Result<Schema> ParseColumns(const OperatorOptions& options);

// How CSV lines split into fields (Flink's csv format options).
struct CsvFormat {
  char delimiter = ',';
  char quote = '"';  // '\0': no quoting
  // A field equal to this (unquoted) is NULL in any column; unset: only an
  // empty field is NULL, and not in a STRING column.
  std::optional<std::string> null_literal;
};

struct FileSourceSpec {
  std::string path;
  Schema schema;
  std::optional<size_t> time;  // a TIMESTAMP column of schema
  int64_t watermark_delay_ms = 0;
  bool header = false;  // skip the first line of every file
  CsvFormat format;
};

Result<FileSourceSpec> ParseFileSource(const OperatorOptions& options);

OperatorSignature FileSourceSignature();

}  // namespace sluice
