#include "worker/operators/sinks.h"

#include <cerrno>
#include <cstring>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <filesystem>

#include <unistd.h>

#include "common/records/row_json.h"

namespace sluice {

Result<std::unique_ptr<Operator>> FileSink::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(FileSinkSpec spec, BindSpec(setup, ParseFileSink(setup.options, setup.input)));
  // An empty path writes nothing: job files can make their output optional
  // (path: ${output}, output defaulting to "").
  if (spec.path.empty()) return std::unique_ptr<Operator>(new BlackholeSink());
  return std::unique_ptr<Operator>(new FileSink(spec.path, setup.subtask, setup.parallelism, setup.input,
                                                std::move(spec.partition_by), setup.checkpointing,
                                                setup.restored_checkpoint, setup.attempt));
}

FileSink::FileSink(std::string directory, int subtask, int parallelism, Schema schema,
                   std::vector<size_t> partition_fields, bool checkpointing, int64_t restored_checkpoint,
                   int64_t attempt)
    : directory_(std::move(directory)), subtask_(subtask), parallelism_(parallelism), schema_(std::move(schema)),
      partition_fields_(std::move(partition_fields)), checkpointing_(checkpointing),
      restored_checkpoint_(restored_checkpoint), attempt_(attempt) {}

// Files still open were not committed (Finish and checkpoints close them):
// the job failed or was cancelled, and their rows are discarded, as Flink's
// file sink discards in-progress files. The name is this attempt's own.
FileSink::~FileSink() {
  for (auto& [partition, file] : files_) {
    if (file == nullptr) continue;
    std::fclose(file);
    std::error_code ec;
    std::filesystem::remove((partition.empty() ? directory_ : directory_ + "/" + partition) + "/" + InProgressName(), ec);
  }
}

Status FileSink::Open() {
  SLUICE_RETURN_IF_ERROR(RecoverStaged());
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
  std::string path = dir + "/" + InProgressName();
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

// What checkpoint `checkpoint` of `subtask` is published as.
std::string FileSink::PublishedName(int subtask, int64_t checkpoint) {
  return "part-" + std::to_string(subtask) + "-" + std::to_string(checkpoint) + ".jsonl";
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
    if (!name || !ok) continue;
    std::string dir = partition.empty() ? directory_ : directory_ + "/" + partition;
    std::error_code ec;
    std::filesystem::rename(dir + "/" + InProgressName(), dir + "/" + name(dir), ec);
    if (ec && result.ok()) result = Status::IoError("file sink: staging under '" + dir + "' failed: " + ec.message());
  }
  files_.clear();
  return result;
}

Status FileSink::Finish(Collector&) {
  // Without checkpoints the end of input commits everything at once.
  if (!checkpointing_) {
    const std::string plain = "part-" + std::to_string(subtask_) + ".jsonl";
    return CloseFiles([&](const std::string&) { return plain; });
  }
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
      std::filesystem::rename(p, p.parent_path() / PublishedName(subtask_, id), ec);
      if (ec) return Status::IoError("file sink: publishing '" + staged + "' failed: " + ec.message());
    }
    pending_.erase(pending_.begin());
  }
  return Status::Ok();
}

namespace {

// What a file sink file is: the subtask that wrote it and its stage.
struct SinkFile {
  enum class Stage { kInProgress, kPending, kPublished, kEnd, kPlain } stage;
  int subtask = -1;
  int64_t checkpoint = 0;  // kPending, kPublished
};

std::optional<SinkFile> ParseSinkFile(const std::string& name) {
  auto number = [](std::string_view text, int64_t* out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size() && *out >= 0;
  };
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  const bool hidden = name.rfind(".part-", 0) == 0;
  if (!hidden && name.rfind("part-", 0) != 0) return std::nullopt;
  std::string_view rest(name);
  rest.remove_prefix(hidden ? 6 : 5);
  std::string_view suffix = hidden ? (ends_with(".inprogress") ? ".inprogress" : ".pending") : ".jsonl";
  if (!ends_with(suffix)) return std::nullopt;
  rest.remove_suffix(suffix.size());
  SinkFile f;
  int64_t s = 0, k = 0;
  size_t dash = rest.find('-');
  if (!number(rest.substr(0, dash), &s)) return std::nullopt;
  f.subtask = static_cast<int>(s);
  std::string_view tail = dash == std::string_view::npos ? std::string_view() : rest.substr(dash + 1);
  if (suffix == ".inprogress") {
    // ".part-<s>-a<attempt>.inprogress" (".part-<s>.inprogress" before attempts were named)
    if (dash != std::string_view::npos && (tail.empty() || tail[0] != 'a' || !number(tail.substr(1), &k))) {
      return std::nullopt;
    }
    f.stage = SinkFile::Stage::kInProgress;
  } else if (dash == std::string_view::npos) {
    if (hidden) return std::nullopt;
    f.stage = SinkFile::Stage::kPlain;
  } else if (!hidden && tail == "end") {
    f.stage = SinkFile::Stage::kEnd;
  } else if (number(tail, &k)) {
    f.stage = hidden ? SinkFile::Stage::kPending : SinkFile::Stage::kPublished;
    f.checkpoint = k;
  } else {
    return std::nullopt;
  }
  return f;
}

}  // namespace

// Files from earlier attempts and jobs (of this subtask; subtask 0 also takes
// those of subtasks that no longer exist after a parallelism change): staged
// for a checkpoint the restore includes -> published; staged later, in
// progress, or published at an end the job never reached -> deleted, as the
// sources replay those rows. Without checkpoints nothing is restored, so
// everything of this subtask goes.
Status FileSink::RecoverStaged() {
  std::error_code ec;
  if (!std::filesystem::exists(directory_, ec)) return Status::Ok();
  std::vector<std::filesystem::path> remove;
  std::vector<std::pair<std::filesystem::path, std::string>> publish;  // -> new name
  for (auto it = std::filesystem::recursive_directory_iterator(directory_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto file = ParseSinkFile(it->path().filename().string());
    if (!file || !(file->subtask == subtask_ || (subtask_ == 0 && file->subtask >= parallelism_))) continue;
    using Stage = SinkFile::Stage;
    switch (file->stage) {
      case Stage::kInProgress:
      case Stage::kEnd:
      case Stage::kPlain:
        remove.push_back(it->path());
        break;
      case Stage::kPending:
        if (file->checkpoint > 0 && file->checkpoint <= restored_checkpoint_) {
          publish.emplace_back(it->path(), PublishedName(file->subtask, file->checkpoint));
        } else {
          remove.push_back(it->path());
        }
        break;
      case Stage::kPublished:
        // Published after the restored checkpoint (a fallback to an older
        // one, or a checkpoint completed after a savepoint): the sources
        // replay those rows, so the file goes. Without a checkpoint to
        // restore this is a new job's first attempt, and earlier jobs'
        // output in the directory is replaced, as without checkpoints.
        if (restored_checkpoint_ == 0 || file->checkpoint > restored_checkpoint_) remove.push_back(it->path());
        break;
    }
  }
  if (ec) return Status::IoError("file sink: listing '" + directory_ + "' failed: " + ec.message());
  for (const auto& p : remove) std::filesystem::remove(p, ec);
  for (const auto& [p, name] : publish) {
    std::filesystem::rename(p, p.parent_path() / name, ec);
    if (ec) return Status::IoError("file sink: publishing '" + p.string() + "' failed: " + ec.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<Operator>> PrintSink::Create(const OperatorSetup& setup) {
  SLUICE_RETURN_IF_ERROR(BindSpec(setup, ParsePrint(setup.options, setup.input)).status());
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

Result<std::unique_ptr<Operator>> BlackholeSink::Create(const OperatorSetup& setup) {
  SLUICE_RETURN_IF_ERROR(BindSpec(setup, ParseBlackhole(setup.options, setup.input)).status());
  return std::unique_ptr<Operator>(new BlackholeSink());
}

}  // namespace sluice
