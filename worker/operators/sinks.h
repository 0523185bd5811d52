// Sinks: the file sink (JSON lines, one file per subtask), the stdout sink
// and the blackhole.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "worker/operators/operator.h"

namespace sluice {

// Writes <path>/part-<subtask>.jsonl, or with partition-by fields
// <path>/<field>=<value>/.../part-<subtask>.jsonl (as Hive and Flink lay out
// partitioned tables; the rows keep their partition fields). Exactly-once
// staging and commit come with checkpoints; until then the files are
// complete when the task finishes.
class FileSink final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  ~FileSink() override;

  Status Open() override;
  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;

 private:
  FileSink(std::string directory, int subtask, Schema schema, std::vector<size_t> partition_fields);
  // The open file of a partition directory ("" = unpartitioned), opened on
  // first use; null after a failure, which is recorded.
  FILE* FileFor(const std::string& partition);
  std::string PartitionOf(const RowView& row);

  const std::string directory_;
  const int subtask_;
  const Schema schema_;
  const std::vector<size_t> partition_fields_;
  std::map<std::string, FILE*> files_;  // partition -> file
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
