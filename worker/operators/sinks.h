// Sinks: the file sink (JSON lines, one file per subtask), the stdout sink
// and the blackhole.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/catalog/blackhole_spec.h"
#include "common/catalog/file_sink_spec.h"
#include "common/catalog/print_spec.h"
#include "worker/operators/operator.h"

namespace sluice {

// Writes <path>/part-<subtask>.jsonl, or with partition-by fields
// <path>/<field>=<value>/.../part-<subtask>.jsonl (as Hive and Flink lay out
// partitioned tables; the rows keep their partition fields).
//
// Rows go to a hidden `.part-<s>-a<attempt>.inprogress` (one name per
// attempt, so a failed attempt's teardown never touches its successor's
// file). Without checkpoints it is published as `part-<s>.jsonl` at the end
// of input. With checkpoints the output is exactly-once, as Flink's
// two-phase-commit file sink: at checkpoint N the in-progress file becomes
// `.part-<s>-<N>.pending`; when N completes, `part-<s>-<N>.jsonl`, and at the
// end of input the rest is published as `part-<s>-end.jsonl`. A sink that
// ends before its end of input (the job failed or was cancelled) deletes its
// in-progress files: nothing a completed checkpoint or the end of input did
// not commit is published. Pending files stay, hidden, for a restore.
//
// On opening, each subtask deletes what earlier attempts and jobs left of
// its own files (subtask 0 also those of subtasks beyond the parallelism),
// except what the checkpoint it restores from had committed, which it
// publishes: the sources replay the rest. So the subtasks never delete each
// other's files. The coordinator refuses, on submission, a directory that
// holds visible files unless the sink has `sink.overwrite: true`.
class FileSink final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  ~FileSink() override;

  Status Open() override;
  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;
  Status PrepareSnapshot(int64_t checkpoint_id, Collector& out) override;
  Status NotifyCheckpointComplete(int64_t checkpoint_id) override;

 private:
  FileSink(std::string directory, int subtask, int parallelism, Schema schema, std::vector<size_t> partition_fields,
           bool checkpointing, int64_t restored_checkpoint, int64_t attempt);
  // Closes every open file; with checkpoints renames each in-progress file
  // to `name(dir)`.
  Status CloseFiles(const std::function<std::string(const std::string& dir)>& name);
  // Publishes or deletes what earlier attempts of this subtask left.
  Status RecoverStaged();
  std::string InProgressName() const {
    return ".part-" + std::to_string(subtask_) + "-a" + std::to_string(attempt_) + ".inprogress";
  }
  static std::string PublishedName(int subtask, int64_t checkpoint);
  // The open file of a partition directory ("" = unpartitioned), opened on
  // first use; null after a failure, which is recorded.
  FILE* FileFor(const std::string& partition);
  std::string PartitionOf(const RowView& row);

  const std::string directory_;
  const int subtask_;
  const int parallelism_;
  const Schema schema_;
  const std::vector<size_t> partition_fields_;
  const bool checkpointing_;
  const int64_t restored_checkpoint_;
  const int64_t attempt_;
  std::map<std::string, FILE*> files_;  // partition -> file
  std::map<int64_t, std::vector<std::string>> pending_;  // checkpoint -> staged files
  std::string line_;
  std::string partition_;
  std::string value_;
};

// JSON lines on standard output, prefixed "<subtask+1>> " as Flink's print
// sink does.
class PrintSink final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;

 private:
  PrintSink(int subtask, Schema schema) : prefix_(std::to_string(subtask + 1) + "> "), schema_(std::move(schema)) {}
  const std::string prefix_;
  const Schema schema_;
  std::string line_;
};

class BlackholeSink final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  void Process(const RowView&, Collector&) override {}
};

}  // namespace sluice
