#include "worker/network/channel_state.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <boost/crc.hpp>
#include <unistd.h>

namespace sluice {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'C', 'H', 'A', 'N', '0', '1'};
constexpr char kEndMagic[8] = {'S', 'L', 'C', 'H', 'E', 'N', 'D', '1'};
constexpr size_t kEntryHeaderBytes = 1 + 4 + 4 + 8;
constexpr size_t kTrailerBytes = 8 + 4 + 8;

void Append(std::string* out, const void* data, size_t n) { out->append(static_cast<const char*>(data), n); }

}  // namespace

int64_t ChannelState::bytes() const {
  int64_t n = 0;
  for (const auto& [key, data] : inputs) n += static_cast<int64_t>(data.size());
  for (const auto& [key, data] : outputs) n += static_cast<int64_t>(data.size());
  return n;
}

Result<int64_t> WriteChannelState(const ChannelState& state, const std::string& path) {
  std::string body(kMagic, sizeof(kMagic));
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
  boost::crc_32_type crc;
  crc.process_bytes(body.data(), body.size());
  uint32_t sum = crc.checksum();
  Append(&body, &sum, 4);
  Append(&body, kEndMagic, 8);

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::IoError("channel state " + path + ": " + ec.message());
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return Status::IoError("channel state " + temp + ": " + std::strerror(errno));
  bool ok = std::fwrite(body.data(), 1, body.size(), f) == body.size() && std::fflush(f) == 0 &&
            ::fsync(::fileno(f)) == 0;
  int saved = errno;
  std::fclose(f);
  if (!ok) {
    std::filesystem::remove(temp, ec);
    if (saved == ENOSPC) return Status::ResourceExhausted("channel state " + path + ": disk full");
    return Status::IoError("channel state " + path + ": " + std::strerror(saved));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) return Status::IoError("channel state " + path + ": " + ec.message());
  return static_cast<int64_t>(body.size());
}

Result<ChannelState> ReadChannelState(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("channel state " + path + " cannot be read");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto damaged = [&](const std::string& what) {
    return Status::IoError("channel state " + path + " is damaged: " + what);
  };
  if (data.size() < sizeof(kMagic) + kTrailerBytes || std::memcmp(data.data(), kMagic, 8) != 0 ||
      std::memcmp(data.data() + data.size() - 8, kEndMagic, 8) != 0) {
    return damaged("not a channel state file, or cut short");
  }
  const size_t body_end = data.size() - kTrailerBytes;
  uint64_t count;
  uint32_t stored;
  std::memcpy(&count, data.data() + body_end, 8);
  std::memcpy(&stored, data.data() + body_end + 8, 4);
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), body_end + 8);
  if (crc.checksum() != stored) return damaged("checksum mismatch");
  ChannelState state;
  size_t pos = sizeof(kMagic);
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
    target[{static_cast<int>(a), static_cast<int>(b)}] = data.substr(pos, length);
    pos += length;
  }
  if (pos != body_end) return damaged("trailing bytes after the entries");
  return state;
}

}  // namespace sluice
