#include "worker/operators/file_source.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "worker/operators/csv_row.h"

namespace sluice {

namespace fs = std::filesystem;

int FileSource::OwnerOf(const std::string& name, int parallelism) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a: stable across builds and machines
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(parallelism));
}

Result<std::unique_ptr<SourceOperator>> FileSource::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(FileSourceSpec spec, BindSpec(setup, ParseFileSource(setup.options)));
  return std::unique_ptr<SourceOperator>(new FileSource(setup.id, std::move(spec), setup.subtask, setup.parallelism));
}

FileSource::FileSource(std::string id, FileSourceSpec spec, int subtask, int parallelism)
    : id_(std::move(id)),
      spec_(std::move(spec)),
      subtask_(subtask),
      parallelism_(parallelism),
      builder_(spec_.schema.size()) {}

Status FileSource::ParsePosition(std::string_view position) {
  while (!position.empty()) {
    size_t end = position.find('\n');
    std::string_view line = position.substr(0, end);
    position = end == std::string_view::npos ? std::string_view() : position.substr(end + 1);
    size_t tab = line.find('\t');
    int64_t offset = 0;
    auto parsed = tab == std::string_view::npos
                      ? std::from_chars_result{line.data(), std::errc::invalid_argument}
                      : std::from_chars(line.data(), line.data() + tab, offset);
    if (parsed.ec != std::errc() || parsed.ptr != line.data() + tab || offset < -1 || tab + 1 == line.size()) {
      return Status::InvalidArgument("file source '" + id_ + "': position line '" + std::string(line) +
                                     "' is not '<offset>\\t<file>'");
    }
    progress_[std::string(line.substr(tab + 1))] = offset;
  }
  return Status::Ok();
}

Status FileSource::RestorePosition(std::string_view position) { return ParsePosition(position); }

// Every old subtask's files: each file is in at most one of them, and Open
// keeps those this subtask owns now.
Status FileSource::RestoreRescaled(const std::vector<std::string>& positions) {
  for (const auto& p : positions) SLUICE_RETURN_IF_ERROR(ParsePosition(p));
  return Status::Ok();
}

Status FileSource::Open() {
  std::error_code ec;
  const fs::path path(spec_.path);
  std::vector<std::string> names;
  if (fs::is_directory(path, ec)) {
    directory_ = spec_.path;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.' || !entry.is_regular_file()) continue;
      names.push_back(name);
    }
    if (ec) return Status::IoError("file source '" + id_ + "': listing " + spec_.path + ": " + ec.message());
  } else if (fs::is_regular_file(path, ec)) {
    directory_ = path.parent_path().string();
    names.push_back(path.filename().string());
  } else {
    return Status::NotFound("file source '" + id_ + "': " + spec_.path + " is neither a file nor a directory");
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (OwnerOf(name, parallelism_) == subtask_) files_.push_back(name);
  }
  // A restored file that is gone would silently lose its rest: refuse.
  for (const auto& [name, offset] : progress_) {
    if (offset >= 0 && OwnerOf(name, parallelism_) == subtask_ &&
        !std::binary_search(files_.begin(), files_.end(), name)) {
      return Status::NotFound("file source '" + id_ + "': " + name + ", partly read at the checkpoint, is gone");
    }
  }
  std::map<std::string, int64_t> mine;
  for (const auto& name : files_) {
    auto it = progress_.find(name);
    if (it != progress_.end()) mine[name] = it->second;
  }
  progress_ = std::move(mine);
  return Status::Ok();
}

Status FileSource::OpenNextFile(bool* none_left) {
  while (current_ < files_.size()) {
    const std::string& name = files_[current_];
    auto it = progress_.find(name);
    offset_ = it == progress_.end() ? 0 : it->second;
    if (offset_ < 0) {
      ++current_;
      continue;
    }
    const std::string full = (fs::path(directory_) / name).string();
    std::error_code ec;
    const uintmax_t size = fs::file_size(full, ec);
    if (!ec && size < static_cast<uintmax_t>(offset_)) {
      return Status::FailedPrecondition("file source '" + id_ + "': " + full + " is " + std::to_string(size) +
                                        " bytes, shorter than the " + std::to_string(offset_) +
                                        " already read at the checkpoint: it was replaced or cut");
    }
    in_ = std::ifstream(full, std::ios::binary);
    if (!in_) return Status::NotFound("file source '" + id_ + "': cannot read " + full);
    in_.seekg(offset_);
    if (!in_) return Status::IoError("file source '" + id_ + "': cannot seek to byte " + std::to_string(offset_) + " of " + full);
    open_ = true;
    *none_left = false;
    return Status::Ok();
  }
  *none_left = true;
  return Status::Ok();
}

Status FileSource::Emit(Collector& out, size_t max_rows, bool* done) {
  *done = false;
  std::string line;
  for (size_t n = 0; n < max_rows;) {
    if (!open_) {
      bool none_left = false;
      SLUICE_RETURN_IF_ERROR(OpenNextFile(&none_left));
      if (none_left) {
        *done = true;
        return Status::Ok();
      }
    }
    const std::string& name = files_[current_];
    if (!std::getline(in_, line)) {
      if (in_.bad()) return Status::IoError("file source '" + id_ + "': reading " + name + " failed");
      progress_[name] = -1;  // read to its end
      in_.close();
      open_ = false;
      ++current_;
      continue;
    }
    const int64_t line_start = offset_;
    offset_ += static_cast<int64_t>(line.size()) + (in_.eof() ? 0 : 1);
    progress_[name] = offset_;
    // The header is the line at byte 0; a restore past it goes on after it.
    if (line_start == 0 && spec_.header) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Status parsed = ParseCsvRow(line, spec_.schema, builder_, spec_.format);
    if (!parsed.ok()) {
      return parsed.WithPrefix("file source '" + id_ + "': " + (fs::path(directory_) / name).string() +
                               " at byte " + std::to_string(line_start));
    }
    RowView row = builder_.Finish();
    if (spec_.time && !row.IsNull(*spec_.time)) max_time_ = std::max(max_time_, row.GetTimestampMillis(*spec_.time));
    out.Collect(row);
    ++n;
  }
  return Status::Ok();
}

std::string FileSource::SnapshotPosition() const {
  std::string position;
  for (const auto& [name, offset] : progress_) {
    position += std::to_string(offset) + "\t" + name + "\n";
  }
  if (!position.empty()) position.pop_back();
  return position;
}

int64_t FileSource::CurrentWatermark() const {
  if (!spec_.time || max_time_ == INT64_MIN) return INT64_MIN;
  return max_time_ - spec_.watermark_delay_ms;
}

}  // namespace sluice
