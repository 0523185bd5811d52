#include "coordinator/checkpoint_storage.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace sluice {
namespace {

using ::testing::HasSubstr;

class CheckpointStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (std::filesystem::temp_directory_path() / ("sluice-ckpt-test-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(CheckpointStorageTest, MetadataRoundTripsAndDamageIsRefused) {
  proto::CheckpointMetadata m;
  m.set_job_id("j1");
  m.set_checkpoint_id(7);
  auto* t = m.add_tasks();
  t->set_vertex_id("src");
  t->set_source_position("12345");
  std::string dir = CheckpointDirectory(root_, "j1", 7);
  EXPECT_EQ(dir, root_ + "/j1/chk-7");
  ASSERT_TRUE(WriteCheckpointMetadata(dir, m).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/_metadata.tmp"));
  auto read = ReadCheckpointMetadata(dir);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->checkpoint_id(), 7);
  EXPECT_EQ(read->tasks(0).source_position(), "12345");

  // Cut short: refused, naming the file.
  auto size = std::filesystem::file_size(dir + "/_metadata");
  std::filesystem::resize_file(dir + "/_metadata", size - 3);
  auto truncated = ReadCheckpointMetadata(dir);
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.status().message(), HasSubstr(dir + "/_metadata is damaged"));

  auto missing = ReadCheckpointMetadata(root_ + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  RemoveCheckpoint(dir);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace sluice
