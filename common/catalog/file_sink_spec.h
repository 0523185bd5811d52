// The `file-sink` operator as written in job files: JSON lines, one file per
// subtask, published as checkpoints complete (exactly once with
// checkpointing).
//
//   type: file-sink
//   path: /out/q5              # a directory; "" discards rows
//   partition-by: [category]   # optional: <path>/<field>=<value>/part-<subtask>.jsonl
//   sink.overwrite: true            # optional: delete the part files of earlier runs
#pragma once

#include <string>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct FileSinkSpec {
  // The output directory, created if missing. Empty: rows are discarded, so
  // job files can make their output optional (path: ${output}).
  std::string path;
  std::vector<size_t> partition_by;  // field indexes of the input
  // false: a job whose `path` holds files is refused at submission, so two
  // runs' rows never mix unnoticed.
  bool overwrite = false;
};

Result<FileSinkSpec> ParseFileSink(const OperatorOptions& options, const Schema& input);

OperatorSignature FileSinkSignature();

}  // namespace sluice
