#include "worker/state/state_snapshot.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "worker/state/state_backends.h"
#include "worker/state/state_key.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

class StateSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice-snapshot-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(StateSnapshotTest, RestoresOnlyTheOwnedKeyGroups) {
  auto source = NewMemoryStateBackend();
  StateKey key;
  for (int kg = 0; kg < 8; ++kg) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(source->Put(key.Reset(kg, 1).AddInt64(i), std::string(i, 'x')).ok());
  }
  std::string path = (dir_ / "chk-1" / "op.state").string();
  auto written = WriteStateSnapshot(*source->SnapshotAll(), path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->entries, 24);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // Two new subtasks split the key groups; together they hold everything.
  auto low = NewMemoryStateBackend(), high = NewMemoryStateBackend();
  auto a = RestoreStateSnapshot(path, 0, 3, *low);
  auto b = RestoreStateSnapshot(path, 3, 8, *high);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->entries, 9);
  EXPECT_EQ(b->entries, 15);
  std::string value;
  ASSERT_TRUE(*high->Get(key.Reset(7, 1).AddInt64(2), &value));
  EXPECT_EQ(value, "xx");
  EXPECT_FALSE(*low->Get(key.Reset(7, 1).AddInt64(2), &value));
}

TEST_F(StateSnapshotTest, EmptyStateIsAValidSnapshot) {
  auto empty = NewMemoryStateBackend();
  std::string path = (dir_ / "empty.state").string();
  ASSERT_TRUE(WriteStateSnapshot(*empty->SnapshotAll(), path).ok());
  auto target = NewMemoryStateBackend();
  auto r = RestoreStateSnapshot(path, 0, 128, *target);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->entries, 0);
}

TEST_F(StateSnapshotTest, DamagedFilesAreRefusedWithTheirPath) {
  auto source = NewMemoryStateBackend();
  StateKey key;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(source->Put(key.Reset(1, 1).AddInt64(i), "value").ok());
  std::string path = (dir_ / "op.state").string();
  ASSERT_TRUE(WriteStateSnapshot(*source->SnapshotAll(), path).ok());
  auto size = std::filesystem::file_size(path);

  std::string truncated = (dir_ / "truncated.state").string();
  std::filesystem::copy_file(path, truncated);
  std::filesystem::resize_file(truncated, size / 2);
  auto target = NewMemoryStateBackend();
  auto r = RestoreStateSnapshot(truncated, 0, 128, *target);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(truncated));
  EXPECT_THAT(r.status().message(), HasSubstr("damaged"));

  std::string flipped = (dir_ / "flipped.state").string();
  std::filesystem::copy_file(path, flipped);
  {
    std::fstream f(flipped, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('!');
  }
  r = RestoreStateSnapshot(flipped, 0, 128, *target);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("checksum"));

  r = RestoreStateSnapshot((dir_ / "missing.state").string(), 0, 128, *target);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice
