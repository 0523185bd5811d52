#include "worker/state/state_snapshot.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <boost/crc.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "worker/state/state_key.h"

namespace sluice {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'S', 'N', 'A', 'P', '0', '1'};
constexpr char kEndMagic[8] = {'S', 'L', 'E', 'N', 'D', '0', '0', '1'};
constexpr size_t kTrailerBytes = 8 + 4 + 8;

class SnapshotWriter {
 public:
  explicit SnapshotWriter(std::FILE* f) : f_(f) {}
  bool Write(const void* data, size_t n) {
    crc_.process_bytes(data, n);
    bytes_ += static_cast<int64_t>(n);
    return std::fwrite(data, 1, n, f_) == n;
  }
  bool WriteU32(uint32_t v) { return Write(&v, 4); }
  uint32_t crc() const { return crc_.checksum(); }
  int64_t bytes() const { return bytes_; }

 private:
  std::FILE* f_;
  boost::crc_32_type crc_;
  int64_t bytes_ = 0;
};

}  // namespace

Result<SnapshotResult> WriteStateSnapshot(StateIterator& entries, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::IoError("state snapshot " + path + ": " + ec.message());
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return Status::IoError("state snapshot " + temp + ": " + std::strerror(errno));
  SnapshotWriter w(f);
  SnapshotResult result;
  bool ok = w.Write(kMagic, sizeof(kMagic));
  for (; ok && entries.Valid(); entries.Next()) {
    std::string_view k = entries.key(), v = entries.value();
    ok = w.WriteU32(static_cast<uint32_t>(k.size())) && w.Write(k.data(), k.size()) &&
         w.WriteU32(static_cast<uint32_t>(v.size())) && w.Write(v.data(), v.size());
    ++result.entries;
  }
  Status scan = entries.status();
  uint64_t count = static_cast<uint64_t>(result.entries);
  uint32_t crc = 0;
  if (ok) ok = w.Write(&count, 8);
  crc = w.crc();
  ok = ok && std::fwrite(&crc, 1, 4, f) == 4 && std::fwrite(kEndMagic, 1, 8, f) == 8;
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int saved = errno;
  std::fclose(f);
  if (!scan.ok() || !ok) {
    std::filesystem::remove(temp, ec);
    if (!scan.ok()) return scan.WithPrefix("state snapshot " + path);
    if (saved == ENOSPC) return Status::ResourceExhausted("state snapshot " + path + ": disk full");
    return Status::IoError("state snapshot " + path + ": " + std::strerror(saved));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) return Status::IoError("state snapshot " + path + ": " + ec.message());
  result.bytes = w.bytes() + 12;
  return result;
}

Result<SnapshotResult> RestoreStateSnapshot(const std::string& path, int first_key_group, int end_key_group,
                                            KeyedStateBackend& backend) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("state snapshot " + path + " cannot be read");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto corrupt = [&](const std::string& what) {
    return Status::IoError("state snapshot " + path + " is damaged: " + what);
  };
  if (data.size() < sizeof(kMagic) + kTrailerBytes || std::memcmp(data.data(), kMagic, 8) != 0) {
    return corrupt("not a snapshot, or cut short");
  }
  const size_t body_end = data.size() - kTrailerBytes;
  if (std::memcmp(data.data() + data.size() - 8, kEndMagic, 8) != 0) return corrupt("cut short");
  uint64_t entries;
  uint32_t stored_crc;
  std::memcpy(&entries, data.data() + body_end, 8);
  std::memcpy(&stored_crc, data.data() + body_end + 8, 4);
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), body_end + 8);
  if (crc.checksum() != stored_crc) return corrupt("checksum mismatch");
  SnapshotResult result;
  size_t offset = sizeof(kMagic);
  auto read_u32 = [&](uint32_t* v) {
    if (offset + 4 > body_end) return false;
    std::memcpy(v, data.data() + offset, 4);
    offset += 4;
    return true;
  };
  uint64_t seen = 0;
  while (offset < body_end) {
    uint32_t ks, vs;
    if (!read_u32(&ks) || offset + ks > body_end) return corrupt("entry " + std::to_string(seen));
    std::string_view key(data.data() + offset, ks);
    offset += ks;
    if (!read_u32(&vs) || offset + vs > body_end) return corrupt("entry " + std::to_string(seen));
    std::string_view value(data.data() + offset, vs);
    offset += vs;
    ++seen;
    if (key.size() < 2) return corrupt("entry " + std::to_string(seen) + " has no key group");
    int kg = StateKey::KeyGroupOf(key);
    if (kg < first_key_group || kg >= end_key_group) continue;
    SLUICE_RETURN_IF_ERROR(backend.Put(key, value));
    ++result.entries;
  }
  if (seen != entries) return corrupt("holds " + std::to_string(seen) + " entries, expected " + std::to_string(entries));
  result.bytes = static_cast<int64_t>(data.size());
  return result;
}

}  // namespace sluice
