// The one format of the files a checkpoint is made of (its _metadata, state
// snapshots, unaligned checkpoints' channel state): a payload the caller
// encodes, framed so that a file cut short, altered or of another kind is
// refused rather than restored.
//
// File: "SLSUM001" [u8 n][kind: n bytes] [payload]
//       [u64 payload bytes][u32 CRC-32 of everything before] "SLSUMEND"
//
// Written to "<path>.tmp", synced and renamed into place: the file exists
// exactly when it is complete. `kind` ("state snapshot", ...) is stored, and
// names the file in every error: "state snapshot /x/y is damaged: checksum
// mismatch".
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <boost/crc.hpp>

#include "common/status.h"

namespace sluice {

// Streams a payload too large to build in memory first (state snapshots).
// Not thread-safe.
class ChecksummedFileWriter {
 public:
  // Makes the file's directory and opens the temporary file.
  static Result<std::unique_ptr<ChecksummedFileWriter>> Create(const std::string& path, std::string kind);
  // Removes the temporary file unless Commit succeeded.
  ~ChecksummedFileWriter();
  ChecksummedFileWriter(const ChecksummedFileWriter&) = delete;
  ChecksummedFileWriter& operator=(const ChecksummedFileWriter&) = delete;

  // After an error, later calls return it again. A full disk is
  // RESOURCE_EXHAUSTED.
  Status Append(std::string_view data);
  // Writes the trailer, syncs and renames the file into place. Returns the
  // file's size in bytes.
  Result<int64_t> Commit();

 private:
  ChecksummedFileWriter(std::string path, std::string kind, std::FILE* file);
  Status Write(const void* data, size_t n);
  Status Failed(int err);

  const std::string path_;
  const std::string temp_;
  const std::string kind_;
  std::FILE* file_;
  boost::crc_32_type crc_;
  int64_t bytes_ = 0;          // written so far
  int64_t payload_bytes_ = 0;
  Status status_;
  bool committed_ = false;
};

// Writes `payload` as one checksummed file at `path`; returns its size.
Result<int64_t> WriteChecksummedFile(const std::string& path, std::string_view kind, std::string_view payload);

// A file read back whole and verified.
struct ChecksummedFile {
  std::string data;  // the whole file
  size_t payload_begin = 0, payload_size = 0;
  std::string_view payload() const { return std::string_view(data).substr(payload_begin, payload_size); }
};

// Reads and verifies the file at `path`, which must be of `kind`. Errors name
// the kind and the path: NOT_FOUND "<kind> <path> cannot be read" when it is
// missing or unreadable, IO_ERROR "<kind> <path> is damaged: <what>" when it
// is cut short, altered, or of another kind.
Result<ChecksummedFile> ReadChecksummedFile(const std::string& path, std::string_view kind);

}  // namespace sluice
