#include "worker/network/channel_state.h"

#include <cstring>
#include <string_view>

#include "common/checksummed_file.h"

namespace sluice {
namespace {

constexpr std::string_view kKind = "channel state";  // in errors, and the file's kind
constexpr size_t kEntryHeaderBytes = 1 + 4 + 4 + 8;

void Append(std::string* out, const void* data, size_t n) { out->append(static_cast<const char*>(data), n); }

}  // namespace

int64_t ChannelState::bytes() const {
  int64_t n = 0;
  for (const auto& [key, data] : inputs) n += static_cast<int64_t>(data.size());
  for (const auto& [key, data] : outputs) n += static_cast<int64_t>(data.size());
  return n;
}

Result<int64_t> WriteChannelState(const ChannelState& state, const std::string& path) {
  std::string body;
  uint64_t count = 0;
  for (uint8_t kind : {0, 1}) {
    for (const auto& [key, data] : kind == 0 ? state.inputs : state.outputs) {
      uint32_t a = static_cast<uint32_t>(key.first), b = static_cast<uint32_t>(key.second);
      uint64_t length = data.size();
      Append(&body, &kind, 1);
      Append(&body, &a, 4);
      Append(&body, &b, 4);
      Append(&body, &length, 8);
      body += data;
      ++count;
    }
  }
  Append(&body, &count, 8);
  return WriteChecksummedFile(path, kKind, body);
}

Result<ChannelState> ReadChannelState(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(ChecksummedFile file, ReadChecksummedFile(path, kKind));
  const std::string_view data = file.payload();
  auto damaged = [&](const std::string& what) {
    return Status::IoError(std::string(kKind) + " " + path + " is damaged: " + what);
  };
  if (data.size() < 8) return damaged("no entry count");
  const size_t body_end = data.size() - 8;
  uint64_t count;
  std::memcpy(&count, data.data() + body_end, 8);
  ChannelState state;
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (body_end - pos < kEntryHeaderBytes) return damaged("entry " + std::to_string(i) + " cut short");
    uint8_t kind = static_cast<uint8_t>(data[pos]);
    uint32_t a, b;
    uint64_t length;
    std::memcpy(&a, data.data() + pos + 1, 4);
    std::memcpy(&b, data.data() + pos + 5, 4);
    std::memcpy(&length, data.data() + pos + 9, 8);
    pos += kEntryHeaderBytes;
    if (kind > 1 || length > body_end - pos) return damaged("entry " + std::to_string(i) + " is malformed");
    auto& target = kind == 0 ? state.inputs : state.outputs;
    target[{static_cast<int>(a), static_cast<int>(b)}] = std::string(data.substr(pos, length));
    pos += length;
  }
  if (pos != body_end) return damaged("trailing bytes after the entries");
  return state;
}

}  // namespace sluice
