#include "worker/operators/sinks.h"

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

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
  return std::unique_ptr<Operator>(new FileSink(path, setup.subtask, setup.input, std::move(partition_fields),
                                                setup.checkpointing, setup.restored_checkpoint));
}

FileSink::FileSink(std::string directory, int subtask, Schema schema, std::vector<size_t> partition_fields,
                   bool checkpointing, int64_t restored_checkpoint)
    : directory_(std::move(directory)), subtask_(subtask), schema_(std::move(schema)),
      partition_fields_(std::move(partition_fields)), checkpointing_(checkpointing),
      restored_checkpoint_(restored_checkpoint) {}

FileSink::~FileSink() {
  for (auto& [partition, file] : files_) {
    if (file != nullptr) std::fclose(file);
  }
}

Status FileSink::Open() {
  if (checkpointing_) SLUICE_RETURN_IF_ERROR(RecoverStaged());
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
  std::string path = dir + "/" + (checkpointing_ ? InProgressName() : "part-" + std::to_string(subtask_) + ".jsonl");
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

Status FileSink::CloseFiles(const std::function<std::string(const std::string& dir)>& name) {
  Status result;
  for (auto& [partition, file] : files_) {
    if (file == nullptr) continue;
    bool ok = std::fflush(file) == 0 && (!checkpointing_ || ::fsync(::fileno(file)) == 0);
    int err = errno;
    ok = (std::fclose(file) == 0) && ok;
    file = nullptr;
    if (!ok && result.ok()) {
      result = Status::IoError("file sink: closing a file under '" + directory_ + "' failed: " + std::strerror(err));
    }
    if (!checkpointing_ || !ok) continue;
    std::string dir = partition.empty() ? directory_ : directory_ + "/" + partition;
    std::error_code ec;
    std::filesystem::rename(dir + "/" + InProgressName(), dir + "/" + name(dir), ec);
    if (ec && result.ok()) result = Status::IoError("file sink: staging under '" + dir + "' failed: " + ec.message());
  }
  files_.clear();
  return result;
}

Status FileSink::Finish(Collector&) {
  if (!checkpointing_) return CloseFiles(nullptr);
  // The end of input publishes everything: what checkpoints staged and the rest.
  SLUICE_RETURN_IF_ERROR(NotifyCheckpointComplete(INT64_MAX));
  const std::string end = "part-" + std::to_string(subtask_) + "-end.jsonl";
  return CloseFiles([&](const std::string&) { return end; });
}

Status FileSink::PrepareSnapshot(int64_t checkpoint_id, Collector&) {
  if (!checkpointing_) return Status::Ok();
  const std::string staged = ".part-" + std::to_string(subtask_) + "-" + std::to_string(checkpoint_id) + ".pending";
  std::vector<std::string>& files = pending_[checkpoint_id];
  return CloseFiles([&](const std::string& dir) {
    files.push_back(dir + "/" + staged);
    return staged;
  });
}

Status FileSink::NotifyCheckpointComplete(int64_t checkpoint_id) {
  while (!pending_.empty() && pending_.begin()->first <= checkpoint_id) {
    const int64_t id = pending_.begin()->first;
    for (const auto& staged : pending_.begin()->second) {
      std::filesystem::path p(staged);
      std::error_code ec;
      std::filesystem::rename(p, p.parent_path() / ("part-" + std::to_string(subtask_) + "-" + std::to_string(id) + ".jsonl"), ec);
      if (ec) return Status::IoError("file sink: publishing '" + staged + "' failed: " + ec.message());
    }
    pending_.erase(pending_.begin());
  }
  return Status::Ok();
}

// Files of this subtask from an earlier attempt: staged for a checkpoint the
// restore includes -> published; staged later, in progress, or published at
// an end the job never reached -> deleted, as the sources replay those rows.
Status FileSink::RecoverStaged() {
  std::error_code ec;
  if (!std::filesystem::exists(directory_, ec)) return Status::Ok();
  const std::string s = std::to_string(subtask_);
  const std::string pending_prefix = ".part-" + s + "-";
  std::vector<std::filesystem::path> remove;
  std::vector<std::pair<std::filesystem::path, int64_t>> publish;
  for (auto it = std::filesystem::recursive_directory_iterator(directory_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    const bool published = name.rfind("part-" + s + "-", 0) == 0 && name.size() > 6 &&
                           name.compare(name.size() - 6, 6, ".jsonl") == 0;
    // Without a checkpoint to restore this is a new job's first attempt (no
    // attempt publishes before a checkpoint completes): earlier jobs'
    // output in the directory is replaced, as without checkpoints.
    if (name == InProgressName() || name == "part-" + s + "-end.jsonl" || name == "part-" + s + ".jsonl" ||
        (published && restored_checkpoint_ == 0)) {
      remove.push_back(it->path());
    } else if (name.rfind(pending_prefix, 0) == 0 && name.size() > pending_prefix.size() + 8 &&
               name.compare(name.size() - 8, 8, ".pending") == 0) {
      int64_t id = std::strtoll(name.c_str() + pending_prefix.size(), nullptr, 10);
      if (id > 0 && id <= restored_checkpoint_) {
        publish.emplace_back(it->path(), id);
      } else {
        remove.push_back(it->path());
      }
    }
  }
  if (ec) return Status::IoError("file sink: listing '" + directory_ + "' failed: " + ec.message());
  for (const auto& p : remove) std::filesystem::remove(p, ec);
  for (const auto& [p, id] : publish) {
    std::filesystem::rename(p, p.parent_path() / ("part-" + s + "-" + std::to_string(id) + ".jsonl"), ec);
    if (ec) return Status::IoError("file sink: publishing '" + p.string() + "' failed: " + ec.message());
  }
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
