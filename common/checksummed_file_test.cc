#include "common/checksummed_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace sluice {
namespace {

using ::testing::HasSubstr;

class ChecksummedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-checksummed-file-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/sub/file";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Contents() {
    std::ifstream in(path_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  void Overwrite(const std::string& data) { std::ofstream(path_, std::ios::binary | std::ios::trunc) << data; }

  std::string dir_, path_;
};

TEST_F(ChecksummedFileTest, APayloadReadsBackAsWritten) {
  const std::string payload("some\0bytes", 10);
  auto written = WriteChecksummedFile(path_, "test file", payload);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(*written, static_cast<int64_t>(Contents().size()));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  auto read = ReadChecksummedFile(path_, "test file");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->payload(), payload);
}

TEST_F(ChecksummedFileTest, AStreamedPayloadReadsBackWholeAndAnEmptyOneToo) {
  auto writer = ChecksummedFileWriter::Create(path_, "test file");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Append("one,").ok());
  ASSERT_TRUE((*writer)->Append("two").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(ReadChecksummedFile(path_, "test file")->payload(), "one,two");

  ASSERT_TRUE(WriteChecksummedFile(path_, "test file", "").ok());
  EXPECT_EQ(ReadChecksummedFile(path_, "test file")->payload(), "");
}

TEST_F(ChecksummedFileTest, AWriterDroppedBeforeCommitLeavesNoFile) {
  {
    auto writer = ChecksummedFileWriter::Create(path_, "test file");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("half").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(ChecksummedFileTest, AFlippedByteIsAChecksumMismatchNamingTheFile) {
  ASSERT_TRUE(WriteChecksummedFile(path_, "test file", "payload to be damaged").ok());
  std::string data = Contents();
  data[data.size() / 2] ^= 0x01;
  Overwrite(data);
  auto read = ReadChecksummedFile(path_, "test file");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kIoError);
  EXPECT_THAT(read.status().message(), HasSubstr("test file " + path_ + " is damaged: checksum mismatch"));
}

TEST_F(ChecksummedFileTest, ATruncatedFileIsDamagedNamingTheFile) {
  ASSERT_TRUE(WriteChecksummedFile(path_, "test file", "payload to be cut").ok());
  const std::string data = Contents();
  for (size_t keep : {data.size() - 1, data.size() / 2, size_t{3}, size_t{0}}) {
    Overwrite(data.substr(0, keep));
    auto read = ReadChecksummedFile(path_, "test file");
    ASSERT_FALSE(read.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(read.status().code(), StatusCode::kIoError);
    EXPECT_THAT(read.status().message(), HasSubstr(path_ + " is damaged"));
  }
}

TEST_F(ChecksummedFileTest, AMissingFileIsNotFoundNamingIt) {
  auto read = ReadChecksummedFile(path_, "test file");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(path_));
}

TEST_F(ChecksummedFileTest, AFileOfAnotherKindIsRefused) {
  ASSERT_TRUE(WriteChecksummedFile(path_, "channel state", "x").ok());
  auto read = ReadChecksummedFile(path_, "state snapshot");
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("it is a channel state, not a state snapshot"));
}

}  // namespace
}  // namespace sluice
