// Sinks: the file sink (JSON lines, one file per subtask), the stdout sink
// and the blackhole.
#pragma once

#include <cstdio>
#include <string>

#include "worker/operators/operator.h"

namespace sluice {

// Writes <path>/part-<subtask>.jsonl. Exactly-once staging and commit come
// with checkpoints; until then the file is complete when the task finishes.
class FileSink final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  ~FileSink() override;

  Status Open() override;
  void Process(const RowView& row, Collector& out) override;
  Status Finish(Collector& out) override;

 private:
  FileSink(std::string directory, int subtask, Schema schema);

  const std::string directory_;
  const int subtask_;
  const Schema schema_;
  std::string file_path_;
  FILE* file_ = nullptr;
  std::string line_;
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
