#include "worker/state/state_snapshot.h"

#include <cstring>
#include <string_view>

#include "common/checksummed_file.h"
#include "worker/state/state_key.h"

namespace sluice {
namespace {

constexpr std::string_view kKind = "state snapshot";  // in errors, and the file's kind

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

Result<SnapshotResult> WriteStateSnapshot(StateIterator& entries, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ChecksummedFileWriter> w, ChecksummedFileWriter::Create(path, std::string(kKind)));
  SnapshotResult result;
  Status written;
  for (; written.ok() && entries.Valid(); entries.Next()) {
    std::string_view k = entries.key(), v = entries.value();
    written = w->Append(U32(static_cast<uint32_t>(k.size())));
    if (written.ok()) written = w->Append(k);
    if (written.ok()) written = w->Append(U32(static_cast<uint32_t>(v.size())));
    if (written.ok()) written = w->Append(v);
    ++result.entries;
  }
  // An unfinished writer removes its temporary file.
  SLUICE_RETURN_IF_ERROR(entries.status().WithPrefix(std::string(kKind) + " " + path));
  SLUICE_RETURN_IF_ERROR(written);
  const uint64_t count = static_cast<uint64_t>(result.entries);
  SLUICE_RETURN_IF_ERROR(w->Append(std::string_view(reinterpret_cast<const char*>(&count), 8)));
  SLUICE_ASSIGN_OR_RETURN(result.bytes, w->Commit());
  return result;
}

Result<SnapshotResult> RestoreStateSnapshot(const std::string& path, int first_key_group, int end_key_group,
                                            KeyedStateBackend& backend) {
  SLUICE_ASSIGN_OR_RETURN(ChecksummedFile file, ReadChecksummedFile(path, kKind));
  const std::string_view data = file.payload();
  auto corrupt = [&](const std::string& what) {
    return Status::IoError(std::string(kKind) + " " + path + " is damaged: " + what);
  };
  if (data.size() < 8) return corrupt("no entry count");
  const size_t body_end = data.size() - 8;
  uint64_t entries;
  std::memcpy(&entries, data.data() + body_end, 8);
  SnapshotResult result;
  size_t offset = 0;
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
  result.bytes = static_cast<int64_t>(file.data.size());
  return result;
}

}  // namespace sluice
