#include "worker/state/incremental_snapshot.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include <boost/crc.hpp>
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <unistd.h>

#include "worker/state/state_key.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

struct FileSum {
  int64_t bytes = 0;
  uint32_t crc = 0;
};

Status FromErrno(const std::string& path, int err) {
  if (err == ENOSPC) return Status::ResourceExhausted(path + ": disk full");
  if (err == ENOENT) return Status::NotFound(path + " is missing");
  return Status::IoError(path + ": " + std::strerror(err));
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return FromErrno(path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Reads `from` and returns its size and CRC-32; unless `to` is empty, also
// writes a copy there and syncs it. `to` must be new: a file a checkpoint
// references is never overwritten. A failed copy leaves no `to` behind, so
// no half-written file is ever mistaken for a good one.
Result<FileSum> CopyAndSum(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return FromErrno(from, errno);
  int out = -1;
  if (!to.empty()) {
    out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
      int err = errno;
      ::close(in);
      return FromErrno(to, err);
    }
  }
  FileSum sum;
  boost::crc_32_type crc;
  std::vector<char> buffer(1 << 20);
  Status status;
  while (status.ok()) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = FromErrno(from, errno);
      break;
    }
    if (n == 0) break;
    crc.process_bytes(buffer.data(), static_cast<size_t>(n));
    sum.bytes += n;
    if (out >= 0) status = WriteAll(out, buffer.data(), static_cast<size_t>(n), to);
  }
  if (status.ok() && out >= 0 && ::fsync(out) != 0) status = FromErrno(to, errno);
  ::close(in);
  if (out >= 0 && ::close(out) != 0 && status.ok()) status = FromErrno(to, errno);
  if (!status.ok()) {
    if (out >= 0) ::unlink(to.c_str());
    return status;
  }
  sum.crc = crc.checksum();
  return sum;
}

// Makes the names of files just written durable, not only their contents.
Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FromErrno(dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : FromErrno(dir, err);
}

// Removes a directory tree when it goes out of scope, on every return path.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::string dir) : dir_(std::move(dir)) {}
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  std::string dir_;
};

std::string Absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

std::string RandomToken() {
  std::random_device rd;
  uint64_t token = (uint64_t{rd()} << 32) ^ rd();
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016" PRIx64, token);
  return hex;
}

Status CheckSize(const proto::StateFile& file) {
  std::error_code ec;
  uintmax_t size = fs::file_size(file.path(), ec);
  if (ec == std::errc::no_such_file_or_directory) return Status::NotFound("state file " + file.path() + " is missing");
  if (ec) return Status::IoError("state file " + file.path() + ": " + ec.message());
  if (size != static_cast<uintmax_t>(file.bytes())) {
    return Status::IoError("state file " + file.path() + " is " + std::to_string(size) + " bytes, expected " +
                           std::to_string(file.bytes()));
  }
  return Status::Ok();
}

Status CheckSum(const proto::StateFile& file, const FileSum& sum) {
  if (sum.bytes != file.bytes()) {
    return Status::IoError("state file " + file.path() + " is " + std::to_string(sum.bytes) + " bytes, expected " +
                           std::to_string(file.bytes()));
  }
  if (sum.crc != file.crc32()) return Status::IoError("state file " + file.path() + ": checksum mismatch");
  return Status::Ok();
}

// A name from checkpoint metadata becomes a path under the scratch
// directory: it must not lead out of it.
bool IsPlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

IncrementalUploader::IncrementalUploader(std::string shared_dir, std::string prefix)
    : shared_dir_(Absolute(shared_dir)), prefix_(std::move(prefix)), shared_prefix_(prefix_ + "-" + RandomToken()) {}

Result<IncrementalUpload> IncrementalUploader::Upload(int64_t checkpoint_id, const std::string& local_dir,
                                                      const std::string& private_dir) {
  RemoveOnExit remove_local(local_dir);
  const std::string what = "checkpoint " + std::to_string(checkpoint_id);
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(local_dir, ec)) names.push_back(entry.path().filename().string());
  if (ec) return Status::IoError(what + ": " + local_dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  const std::string private_abs = Absolute(private_dir);
  for (const std::string& dir : {shared_dir_, private_abs}) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(what + ": " + dir + ": " + ec.message());
  }

  // Copied, so that the files are copied without holding the lock. The
  // newest confirmed checkpoint's files, even while later uploads are not
  // confirmed yet (several checkpoints in flight): the coordinator keeps a
  // file it no longer counts until no checkpoint triggered before every
  // worker knew of the completion that released it is in flight.
  std::map<std::string, proto::StateFile> reusable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reusable = reusable_;
  }
  IncrementalUpload upload;
  std::vector<proto::StateFile> ssts;
  std::vector<std::string> written;  // removed again if the upload fails
  Status status;
  for (const std::string& name : names) {
    const std::string local = local_dir + "/" + name;
    const bool sst = name.ends_with(".sst");
    if (sst) {
      auto it = reusable.find(name);
      std::error_code size_ec;
      uintmax_t size = fs::file_size(local, size_ec);
      // The size guards against a reused file number, which RocksDB never does.
      if (it != reusable.end() && !size_ec && size == static_cast<uintmax_t>(it->second.bytes())) {
        upload.files.push_back(it->second);
        ssts.push_back(it->second);
        continue;
      }
    }
    proto::StateFile file;
    file.set_name(name);
    // The checkpoint id in a shared name: an unconfirmed checkpoint's SST is
    // uploaded again by the next one, and the two copies must not share a
    // path (either checkpoint may be the one dropped, and its files deleted).
    file.set_path(sst ? shared_dir_ + "/" + shared_prefix_ + "-chk" + std::to_string(checkpoint_id) + "-" + name
                      : private_abs + "/" + prefix_ + "-" + name);
    file.set_shared(sst);
    Result<FileSum> sum = CopyAndSum(local, file.path());
    if (!sum.ok()) {
      status = sum.status();
      break;
    }
    written.push_back(file.path());
    file.set_bytes(sum->bytes);
    file.set_crc32(sum->crc);
    upload.bytes_written += sum->bytes;
    if (sst) ssts.push_back(file);
    upload.files.push_back(std::move(file));
  }
  if (status.ok()) status = SyncDirectory(shared_dir_);
  if (status.ok()) status = SyncDirectory(private_abs);
  if (!status.ok()) {
    for (const std::string& path : written) fs::remove(path, ec);
    return status.WithPrefix(what);
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (checkpoint_id > confirmed_) unconfirmed_[checkpoint_id] = std::move(ssts);
  return upload;
}

void IncrementalUploader::Confirm(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (checkpoint_id <= confirmed_) return;
  // The coordinator keeps what this checkpoint lists, not necessarily what
  // older ones listed: reuse exactly its files (none, if it is unknown here).
  reusable_.clear();
  auto it = unconfirmed_.find(checkpoint_id);
  if (it != unconfirmed_.end()) {
    for (proto::StateFile& file : it->second) reusable_.emplace(file.name(), std::move(file));
  }
  confirmed_ = checkpoint_id;
  unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(checkpoint_id));
}

Status VerifyStateFile(const proto::StateFile& file) {
  SLUICE_RETURN_IF_ERROR(CheckSize(file));  // cheap, and the clearer message for a cut-short file
  SLUICE_ASSIGN_OR_RETURN(FileSum sum, CopyAndSum(file.path(), ""));
  return CheckSum(file, sum);
}

Status CopyStateFiles(const std::vector<proto::StateFile>& files, const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);  // a leftover of a failed restore is stale
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("restore directory " + dir + ": " + ec.message());
  // Copied rather than hard-linked: the copy checks the CRC in the same pass,
  // and the checkpoint directory may be on another filesystem.
  for (const proto::StateFile& file : files) {
    if (!IsPlainName(file.name())) {
      return Status::InvalidArgument("state file " + file.path() + " has a bad name '" + file.name() + "'");
    }
    SLUICE_RETURN_IF_ERROR(CheckSize(file));
    Result<FileSum> sum = CopyAndSum(file.path(), dir + "/" + file.name());
    if (!sum.ok()) return sum.status().WithPrefix("state file " + file.path());
    SLUICE_RETURN_IF_ERROR(CheckSum(file, *sum));
  }
  return Status::Ok();
}

void IncrementalUploader::Seed(const std::vector<proto::StateFile>& files) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : files) {
    // Only this job's own shared files: another job's (a --from-checkpoint
    // restore) are that job's to delete.
    if (f.shared() && f.path().rfind(shared_dir_ + "/", 0) == 0) reusable_[f.name()] = f;
  }
}

Status RestoreIncremental(const std::vector<proto::StateFile>& files, int key_group_start, int key_group_end,
                          const std::string& scratch_dir, KeyedStateBackend& target) {
  RemoveOnExit remove_scratch(scratch_dir);  // declared first: runs after the database is closed
  SLUICE_RETURN_IF_ERROR(CopyStateFiles(files, scratch_dir));

  rocksdb::Options options;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, scratch_dir, &raw);
  if (!s.ok()) return Status::IoError("opening restored state in " + scratch_dir + ": " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // every block is read once
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  const char start[2] = {static_cast<char>((key_group_start >> 8) & 0xff), static_cast<char>(key_group_start & 0xff)};
  for (it->Seek(rocksdb::Slice(start, 2)); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.size() < 2) continue;  // not a StateKey; has no key group
    if (StateKey::KeyGroupOf(key) > key_group_end) break;
    SLUICE_RETURN_IF_ERROR(target.Put(key, it->value().ToStringView()));
  }
  if (!it->status().ok()) return Status::IoError("reading restored state in " + scratch_dir + ": " + it->status().ToString());
  return Status::Ok();
}

}  // namespace sluice
