#include "worker/state/state_backend.h"

#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "worker/state/state_key.h"

namespace sluice {
namespace {

class StateBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("sluice-state-test-" + std::to_string(::getpid()) + "-" + GetParam()))
               .string();
    auto backend = OpenStateBackend({GetParam(), dir_});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(*backend);
  }
  void TearDown() override {
    backend_.reset();
    EXPECT_FALSE(std::filesystem::exists(dir_)) << "the backend removes its directory";
  }

  std::vector<std::string> Keys(std::string_view prefix, std::string_view from = {}) {
    std::vector<std::string> keys;
    for (auto it = backend_->Scan(prefix, from); it->Valid(); it->Next()) keys.emplace_back(it->key());
    return keys;
  }

  std::string dir_;
  std::unique_ptr<KeyedStateBackend> backend_;
};

TEST_P(StateBackendTest, PutGetDelete) {
  std::string value;
  auto missing = backend_->Get("a", &value);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
  ASSERT_TRUE(backend_->Put("a", std::string("x\0y", 3)).ok());
  auto found = backend_->Get("a", &value);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found);
  EXPECT_EQ(value, std::string("x\0y", 3));
  ASSERT_TRUE(backend_->Put("a", "z").ok());
  ASSERT_TRUE(*backend_->Get("a", &value));
  EXPECT_EQ(value, "z");
  ASSERT_TRUE(backend_->Delete("a").ok());
  EXPECT_FALSE(*backend_->Get("a", &value));
  EXPECT_TRUE(backend_->Delete("never").ok());
  EXPECT_STREQ(backend_->kind(), GetParam().c_str());
}

TEST_P(StateBackendTest, ScansExactlyThePrefixInOrder) {
  for (const char* k : {"b", "ab", "aa", "a", "a\xff", "ac", "c"}) ASSERT_TRUE(backend_->Put(k, "v").ok());
  EXPECT_EQ(Keys("a"), (std::vector<std::string>{"a", "aa", "ab", "ac", "a\xff"}));
  EXPECT_EQ(Keys("a", "ab"), (std::vector<std::string>{"ab", "ac", "a\xff"}));
  EXPECT_EQ(Keys("a", "0"), Keys("a"));  // `from` before the prefix starts at the prefix
  EXPECT_EQ(Keys(""), (std::vector<std::string>{"a", "aa", "ab", "ac", "a\xff", "b", "c"}));
  EXPECT_TRUE(Keys("d").empty());
}

TEST_P(StateBackendTest, ScanOfAllOnesPrefix) {
  ASSERT_TRUE(backend_->Put("\xff\xff", "1").ok());
  ASSERT_TRUE(backend_->Put("\xff\xff\x01", "2").ok());
  ASSERT_TRUE(backend_->Put("\xff\xfe", "3").ok());
  EXPECT_EQ(Keys("\xff\xff"), (std::vector<std::string>{"\xff\xff", "\xff\xff\x01"}));
}

TEST_P(StateBackendTest, TimersScanInTimeOrderWithinAKeyGroup) {
  StateKey key;
  for (int64_t t : std::vector<int64_t>{5, -3, 1000000, 0, INT64_MIN, INT64_MAX}) {
    ASSERT_TRUE(backend_->Put(key.Reset(7, 2).AddInt64(t).AddBytes("k"), "").ok());
  }
  ASSERT_TRUE(backend_->Put(key.Reset(8, 2).AddInt64(-100), "").ok());  // another key group
  ASSERT_TRUE(backend_->Put(key.Reset(7, 1).AddInt64(-100), "").ok());  // another state
  std::vector<int64_t> times;
  for (auto it = backend_->Scan(key.Reset(7, 2)); it->Valid(); it->Next()) {
    EXPECT_EQ(StateKey::KeyGroupOf(it->key()), 7);
    times.push_back(StateKey::ReadOrderedInt64(it->key(), 3));
  }
  EXPECT_EQ(times, (std::vector<int64_t>{INT64_MIN, -3, 0, 5, 1000000, INT64_MAX}));
}

TEST_P(StateBackendTest, CountsEntries) {
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(backend_->Put("k" + std::to_string(i), "v").ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(backend_->Delete("k" + std::to_string(i)).ok());
  if (GetParam() == "memory") {
    EXPECT_EQ(backend_->ApproximateEntries(), 50u);
  } else {
    EXPECT_LE(backend_->ApproximateEntries(), 150u);  // an estimate
  }
  EXPECT_EQ(Keys("k").size(), 50u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateBackendTest, ::testing::Values("rocksdb", "memory"));

TEST(OpenStateBackend, RejectsUnknownKindAndBadDirectory) {
  auto unknown = OpenStateBackend({"heap", "/tmp/x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'heap'"), std::string::npos);
  auto bad = OpenStateBackend({"rocksdb", "/proc/sluice-cannot-be-here"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_NE(bad.status().message().find("/proc/sluice-cannot-be-here"), std::string::npos);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// An asynchronous checkpoint reads a snapshot while the task writes on.
TEST_P(StateBackendTest, SnapshotAllIsAPointInTime) {
  ASSERT_TRUE(backend_->Put("a", "1").ok());
  ASSERT_TRUE(backend_->Put("b", "2").ok());
  auto snapshot = backend_->SnapshotAll();
  ASSERT_TRUE(backend_->Put("a", "changed").ok());
  ASSERT_TRUE(backend_->Delete("b").ok());
  ASSERT_TRUE(backend_->Put("c", "new").ok());
  std::vector<std::string> seen;
  for (; snapshot->Valid(); snapshot->Next()) seen.push_back(std::string(snapshot->key()) + "=" + std::string(snapshot->value()));
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "b=2"}));
}

}  // namespace
}  // namespace sluice
