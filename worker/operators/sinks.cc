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
  std::vector<size_t> partition_fields;
  for (const auto& name : setup.options.GetList("partition-by")) {
    auto index = setup.input.IndexOf(name);
    if (!index) return Status::InvalidArgument("operator '" + setup.id + "': no partition field '" + name + "'");
    partition_fields.push_back(*index);
  }
  return std::unique_ptr<Operator>(new FileSink(path, setup.subtask, setup.input, std::move(partition_fields)));
}

FileSink::FileSink(std::string directory, int subtask, Schema schema, std::vector<size_t> partition_fields)
    : directory_(std::move(directory)), subtask_(subtask), schema_(std::move(schema)),
      partition_fields_(std::move(partition_fields)) {}

FileSink::~FileSink() {
  for (auto& [partition, file] : files_) {
    if (file != nullptr) std::fclose(file);
  }
}

Status FileSink::Open() {
  // Unpartitioned output is opened now, so a bad path fails the task at once.
  if (partition_fields_.empty() && FileFor("") == nullptr) return failure();
  return Status::Ok();
}

FILE* FileSink::FileFor(const std::string& partition) {
  auto it = files_.find(partition);
  if (it != files_.end()) return it->second;
  std::string dir = partition.empty() ? directory_ : directory_ + "/" + partition;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  FILE* file = nullptr;
  std::string path = dir + "/part-" + std::to_string(subtask_) + ".jsonl";
  if (ec) {
    Fail(Status::IoError("file sink: cannot create directory '" + dir + "': " + ec.message()));
  } else if ((file = std::fopen(path.c_str(), "w")) == nullptr) {
    Fail(Status::IoError("file sink: cannot open '" + path + "': " + std::strerror(errno)));
  } else {
    std::setvbuf(file, nullptr, _IOFBF, partition_fields_.empty() ? 1 << 20 : 64 << 10);
  }
  files_[partition] = file;
  return file;
}

// "dt=2015-07-15/hm=00:10": each value as its JSON text without quotes, with
// '/' replaced so a value cannot make a deeper directory.
std::string FileSink::PartitionOf(const RowView& row) {
  partition_.clear();
  for (size_t f : partition_fields_) {
    if (!partition_.empty()) partition_ += "/";
    partition_ += schema_.field(f).name;
    partition_ += "=";
    value_.clear();
    if (row.IsNull(f)) {
      value_ = "null";
    } else if (schema_.field(f).type == FieldType::kString) {
      value_.assign(row.GetString(f));
    } else {
      switch (schema_.field(f).type) {
        case FieldType::kTimestamp: AppendTimestamp(row.GetTimestampMillis(f), &value_); break;
        case FieldType::kDouble: AppendDouble(row.GetDouble(f), &value_); break;
        case FieldType::kDecimal: AppendDecimal(row.GetDecimalUnscaled(f), schema_.field(f).scale, &value_); break;
        case FieldType::kBool: value_ = row.GetBool(f) ? "true" : "false"; break;
        default: value_ = std::to_string(row.GetInt64(f)); break;
      }
    }
    for (char& c : value_) {
      if (c == '/') c = '_';
    }
    partition_ += value_;
  }
  return partition_;
}

void FileSink::Process(const RowView& row, Collector&) {
  FILE* file = FileFor(partition_fields_.empty() ? std::string() : PartitionOf(row));
  if (file == nullptr) return;
  line_.clear();
  AppendRowJson(row, schema_, &line_);
  line_.push_back('\n');
  if (std::fwrite(line_.data(), 1, line_.size(), file) != line_.size()) {
    Fail(Status::IoError("file sink: writing under '" + directory_ + "' failed: " + std::strerror(errno)));
  }
}

Status FileSink::Finish(Collector&) {
  Status result;
  for (auto& [partition, file] : files_) {
    if (file == nullptr) continue;
    bool ok = std::fflush(file) == 0;
    int err = errno;
    ok = (std::fclose(file) == 0) && ok;
    file = nullptr;
    if (!ok && result.ok()) {
      result = Status::IoError("file sink: closing a file under '" + directory_ + "' failed: " + std::strerror(err));
    }
  }
  return result;
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
