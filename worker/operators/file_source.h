// The `file-source` operator (spec: common/catalog/file_source_spec.h): CSV
// lines from a file or a directory's files. A file belongs to the subtask
// FNV-1a(name) mod parallelism, so adding files never moves the others.
// The read position is, per file of the subtask, the byte offset reached
// (or "done"): it is part of every checkpoint, and restoring at another
// parallelism merges every old subtask's files and hands each to its new
// owner, which goes on from the same offset.
#pragma once

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/catalog/file_source_spec.h"
#include "common/records/row.h"
#include "worker/operators/operator.h"

namespace sluice {

class FileSource final : public SourceOperator {
 public:
  static Result<std::unique_ptr<SourceOperator>> Create(const OperatorSetup& setup);

  // Lists the files (those there now) and takes this subtask's.
  Status Open() override;
  Status Emit(Collector& out, size_t max_rows, bool* done) override;
  // "<offset>\t<file name>" lines; offset -1: read to the end.
  std::string SnapshotPosition() const override;
  Status RestorePosition(std::string_view position) override;
  Status RestoreRescaled(const std::vector<std::string>& positions) override;
  int64_t CurrentWatermark() const override;

  // Which of `parallelism` subtasks reads the file named `name`.
  static int OwnerOf(const std::string& name, int parallelism);

 private:
  FileSource(std::string id, FileSourceSpec spec, int subtask, int parallelism);
  Status ParsePosition(std::string_view position);
  Status OpenNextFile(bool* none_left);

  const std::string id_;
  const FileSourceSpec spec_;
  const int subtask_;
  const int parallelism_;
  std::vector<std::string> files_;       // this subtask's, by name
  std::string directory_;                // where they are ("" for a single file path)
  std::map<std::string, int64_t> progress_;  // name -> offset reached, -1 = done
  size_t current_ = 0;                   // into files_
  std::ifstream in_;
  bool open_ = false;
  int64_t offset_ = 0;
  int64_t max_time_ = INT64_MIN;
  RowBuilder builder_;
};

}  // namespace sluice
