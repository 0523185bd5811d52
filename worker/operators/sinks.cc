#include "worker/operators/sinks.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/records/row_json.h"

namespace sluice {

Result<std::unique_ptr<Operator>> FileSink::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(std::string path, setup.options.GetString("path"));
  // An empty path writes nothing: job files can make their output optional
  // (path: ${output}, output defaulting to "").
  if (path.empty()) return BlackholeSink::Create(setup);
  return std::unique_ptr<Operator>(new FileSink(path, setup.subtask, setup.input));
}

FileSink::FileSink(std::string directory, int subtask, Schema schema)
    : directory_(std::move(directory)), subtask_(subtask), schema_(std::move(schema)) {}

FileSink::~FileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

Status FileSink::Open() {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) return Status::IoError("file sink: cannot create directory '" + directory_ + "': " + ec.message());
  file_path_ = directory_ + "/part-" + std::to_string(subtask_) + ".jsonl";
  file_ = std::fopen(file_path_.c_str(), "w");
  if (file_ == nullptr) {
    return Status::IoError("file sink: cannot open '" + file_path_ + "': " + std::strerror(errno));
  }
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  return Status::Ok();
}

void FileSink::Process(const RowView& row, Collector&) {
  line_.clear();
  AppendRowJson(row, schema_, &line_);
  line_.push_back('\n');
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
    Fail(Status::IoError("file sink: writing '" + file_path_ + "' failed: " + std::strerror(errno)));
  }
}

Status FileSink::Finish(Collector&) {
  FILE* f = file_;
  file_ = nullptr;
  if (f == nullptr) return Status::Ok();
  bool ok = std::fflush(f) == 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status::IoError("file sink: closing '" + file_path_ + "' failed: " + std::strerror(err));
  return Status::Ok();
}

Result<std::unique_ptr<Operator>> PrintSink::Create(const OperatorSetup& setup) {
  return std::unique_ptr<Operator>(new PrintSink(setup.subtask, setup.input));
}

void PrintSink::Process(const RowView& row, Collector&) {
  line_.assign(prefix_);
  AppendRowJson(row, schema_, &line_);
  line_.push_back('\n');
  std::fwrite(line_.data(), 1, line_.size(), stdout);
}

Status PrintSink::Finish(Collector&) {
  std::fflush(stdout);
  return Status::Ok();
}

Result<std::unique_ptr<Operator>> BlackholeSink::Create(const OperatorSetup&) {
  return std::unique_ptr<Operator>(new BlackholeSink());
}

}  // namespace sluice
