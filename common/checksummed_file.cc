#include "common/checksummed_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

namespace sluice {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'S', 'U', 'M', '0', '0', '1'};
constexpr char kEndMagic[8] = {'S', 'L', 'S', 'U', 'M', 'E', 'N', 'D'};
constexpr size_t kTrailerBytes = 8 + 4 + 8;  // payload bytes, CRC-32, end magic

}  // namespace

ChecksummedFileWriter::ChecksummedFileWriter(std::string path, std::string kind, std::FILE* file)
    : path_(std::move(path)), temp_(path_ + ".tmp"), kind_(std::move(kind)), file_(file) {}

Result<std::unique_ptr<ChecksummedFileWriter>> ChecksummedFileWriter::Create(const std::string& path,
                                                                             std::string kind) {
  if (kind.size() > 255) return Status::InvalidArgument("file kind '" + kind + "' is longer than 255 bytes");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::IoError(kind + " " + path + ": " + ec.message());
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return Status::IoError(kind + " " + temp + ": " + std::strerror(errno));
  std::unique_ptr<ChecksummedFileWriter> writer(new ChecksummedFileWriter(path, std::move(kind), f));
  const uint8_t n = static_cast<uint8_t>(writer->kind_.size());
  Status header = writer->Write(kMagic, sizeof(kMagic));
  if (header.ok()) header = writer->Write(&n, 1);
  if (header.ok()) header = writer->Write(writer->kind_.data(), n);
  if (!header.ok()) return header;
  return Result<std::unique_ptr<ChecksummedFileWriter>>(std::move(writer));
}

ChecksummedFileWriter::~ChecksummedFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

Status ChecksummedFileWriter::Failed(int err) {
  if (status_.ok()) {
    status_ = err == ENOSPC ? Status::ResourceExhausted(kind_ + " " + path_ + ": disk full")
                            : Status::IoError(kind_ + " " + path_ + ": " + std::strerror(err));
  }
  return status_;
}

Status ChecksummedFileWriter::Write(const void* data, size_t n) {
  if (!status_.ok()) return status_;
  if (file_ == nullptr) return Status::FailedPrecondition(kind_ + " " + path_ + " is already committed");
  if (std::fwrite(data, 1, n, file_) != n) return Failed(errno);
  crc_.process_bytes(data, n);
  bytes_ += static_cast<int64_t>(n);
  return Status::Ok();
}

Status ChecksummedFileWriter::Append(std::string_view data) {
  SLUICE_RETURN_IF_ERROR(Write(data.data(), data.size()));
  payload_bytes_ += static_cast<int64_t>(data.size());
  return Status::Ok();
}

Result<int64_t> ChecksummedFileWriter::Commit() {
  const uint64_t size = static_cast<uint64_t>(payload_bytes_);
  SLUICE_RETURN_IF_ERROR(Write(&size, 8));
  const uint32_t sum = crc_.checksum();
  SLUICE_RETURN_IF_ERROR(Write(&sum, 4));
  SLUICE_RETURN_IF_ERROR(Write(kEndMagic, 8));
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) return Failed(errno);
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) return Failed(errno);
  std::error_code ec;
  std::filesystem::rename(temp_, path_, ec);
  if (ec) return Status::IoError(kind_ + " " + path_ + ": " + ec.message());
  committed_ = true;
  return bytes_;
}

Result<int64_t> WriteChecksummedFile(const std::string& path, std::string_view kind, std::string_view payload) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ChecksummedFileWriter> writer,
                          ChecksummedFileWriter::Create(path, std::string(kind)));
  SLUICE_RETURN_IF_ERROR(writer->Append(payload));
  return writer->Commit();
}

Result<ChecksummedFile> ReadChecksummedFile(const std::string& path, std::string_view kind) {
  const std::string name = std::string(kind) + " " + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(name + " cannot be read");
  ChecksummedFile file;
  file.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IoError(name + ": reading failed");
  const std::string& data = file.data;
  auto damaged = [&](const std::string& what) { return Status::IoError(name + " is damaged: " + what); };
  const size_t header = sizeof(kMagic) + 1;
  if (data.size() < header + kTrailerBytes || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return damaged("not a checksummed file, or cut short");
  }
  if (std::memcmp(data.data() + data.size() - 8, kEndMagic, 8) != 0) return damaged("cut short");
  const size_t body_end = data.size() - kTrailerBytes;
  uint64_t size;
  uint32_t stored;
  std::memcpy(&size, data.data() + body_end, 8);
  std::memcpy(&stored, data.data() + body_end + 8, 4);
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), body_end + 8);
  if (crc.checksum() != stored) return damaged("checksum mismatch");
  const size_t n = static_cast<uint8_t>(data[sizeof(kMagic)]);
  const std::string_view stored_kind = std::string_view(data).substr(header, n);
  if (header + n > body_end || header + n + size != body_end) return damaged("its lengths do not add up");
  if (stored_kind != kind) return damaged("it is a " + std::string(stored_kind) + ", not a " + std::string(kind));
  file.payload_begin = header + n;
  file.payload_size = static_cast<size_t>(size);
  return file;
}

}  // namespace sluice
