#include "worker/state/incremental_snapshot.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/state/state_backends.h"
#include "worker/state/state_key.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Entries = std::map<std::string, std::string>;

class IncrementalSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/sluice-incremental-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto backend = OpenStateBackend({"rocksdb", dir_ / "db"});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(*backend);
    uploader_ = std::make_unique<IncrementalUploader>(dir_ / "shared", "v1-0-op1-a0");
  }
  void TearDown() override {
    backend_.reset();
    fs::remove_all(dir_);
  }

  void Put(int key_group, int64_t i, const std::string& value) {
    std::string key = StateKey().Reset(key_group, 1).AddInt64(i).bytes();
    ASSERT_TRUE(backend_->Put(key, value).ok());
    expected_[key] = value;
  }
  void Delete(int key_group, int64_t i) {
    std::string key = StateKey().Reset(key_group, 1).AddInt64(i).bytes();
    ASSERT_TRUE(backend_->Delete(key).ok());
    expected_.erase(key);
  }

  // Takes checkpoint `id` of backend_ and uploads it.
  IncrementalUpload Checkpoint(int64_t id) {
    const std::string local = dir_ / ("db-chk-" + std::to_string(id));
    auto names = backend_->CreateLocalCheckpoint(local);
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    auto upload = uploader_->Upload(id, local, dir_ / ("chk-" + std::to_string(id)));
    EXPECT_TRUE(upload.ok()) << upload.status().ToString();
    EXPECT_FALSE(fs::exists(local)) << "the upload removes the local checkpoint";
    return upload.ok() ? *upload : IncrementalUpload{};
  }

  Entries Restore(const IncrementalUpload& upload, int first = 0, int last = 0xffff) {
    auto target = NewMemoryStateBackend();
    const std::string scratch = dir_ / "restore";
    Status s = RestoreIncremental(upload.files, first, last, scratch, *target);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(fs::exists(scratch));
    Entries entries;
    for (auto it = target->SnapshotAll(); it->Valid(); it->Next()) entries.emplace(it->key(), it->value());
    return entries;
  }

  static std::map<std::string, proto::StateFile> Ssts(const IncrementalUpload& upload) {
    std::map<std::string, proto::StateFile> ssts;
    for (const auto& f : upload.files) {
      if (f.name().ends_with(".sst")) ssts.emplace(f.name(), f);
    }
    return ssts;
  }
  static int64_t TotalBytes(const IncrementalUpload& upload) {
    int64_t total = 0;
    for (const auto& f : upload.files) total += f.bytes();
    return total;
  }

  fs::path dir_;
  std::unique_ptr<KeyedStateBackend> backend_;
  std::unique_ptr<IncrementalUploader> uploader_;
  Entries expected_;
};

TEST_F(IncrementalSnapshotTest, SecondCheckpointReusesConfirmedFiles) {
  const std::string value(200, 'a');
  for (int i = 0; i < 2000; ++i) Put(i % 10, i, value);
  IncrementalUpload first = Checkpoint(1);
  auto first_ssts = Ssts(first);
  ASSERT_FALSE(first_ssts.empty());
  EXPECT_EQ(first.bytes_written, TotalBytes(first));
  std::set<std::string> names;
  for (const auto& f : first.files) {
    names.insert(f.name());
    EXPECT_TRUE(fs::exists(f.path())) << f.path();
    EXPECT_EQ(f.shared(), f.name().ends_with(".sst")) << f.name();
    const fs::path where = f.shared() ? dir_ / "shared" : dir_ / "chk-1";
    EXPECT_EQ(fs::path(f.path()).parent_path(), where) << f.path();
  }
  EXPECT_TRUE(names.count("CURRENT"));
  uploader_->Confirm(1);
  const Entries at_first = expected_;

  // New keys, overwrites and deletes, some in the first checkpoint's SSTs.
  for (int i = 2000; i < 2500; ++i) Put(i % 10, i, value);
  for (int i = 0; i < 100; ++i) Put(i % 10, i, "overwritten");
  for (int i = 100; i < 200; ++i) Delete(i % 10, i);
  IncrementalUpload second = Checkpoint(2);
  auto second_ssts = Ssts(second);
  int reused = 0;
  for (const auto& [name, f] : first_ssts) {
    auto it = second_ssts.find(name);
    if (it == second_ssts.end()) continue;
    ++reused;
    EXPECT_EQ(it->second.path(), f.path());
    EXPECT_EQ(it->second.crc32(), f.crc32());
  }
  EXPECT_EQ(reused, static_cast<int>(first_ssts.size())) << "no compaction ran: every SST is still live";
  EXPECT_GT(second_ssts.size(), first_ssts.size());
  EXPECT_GT(second.bytes_written, 0);
  EXPECT_LT(second.bytes_written, TotalBytes(second));

  EXPECT_EQ(Restore(second), expected_);
  // The first checkpoint's files are untouched by the second.
  EXPECT_EQ(Restore(first), at_first);
}

TEST_F(IncrementalSnapshotTest, NothingIsReusedWithoutConfirm) {
  for (int i = 0; i < 500; ++i) Put(i % 10, i, "v");
  IncrementalUpload first = Checkpoint(1);
  for (int i = 500; i < 600; ++i) Put(i % 10, i, "v");
  IncrementalUpload second = Checkpoint(2);
  std::set<std::string> first_paths;
  for (const auto& f : first.files) first_paths.insert(f.path());
  for (const auto& f : second.files) EXPECT_FALSE(first_paths.count(f.path())) << f.path();
  EXPECT_EQ(second.bytes_written, TotalBytes(second));

  // A confirmation that comes too late (a newer checkpoint was confirmed)
  // changes nothing either.
  uploader_->Confirm(2);
  uploader_->Confirm(1);
  IncrementalUpload third = Checkpoint(3);
  auto second_ssts = Ssts(second);
  for (const auto& [name, f] : Ssts(third)) {
    if (second_ssts.count(name)) {
      EXPECT_EQ(f.path(), second_ssts[name].path());
    }
    EXPECT_FALSE(first_paths.count(f.path())) << f.path();
  }
  EXPECT_EQ(Restore(third), expected_);
}

TEST_F(IncrementalSnapshotTest, RestoreKeepsOnlyTheKeyGroupRange) {
  for (int i = 0; i < 200; ++i) Put(i % 10, i, "v" + std::to_string(i));
  IncrementalUpload upload = Checkpoint(1);
  Entries in_range;
  for (const auto& [key, value] : expected_) {
    int kg = StateKey::KeyGroupOf(key);
    if (kg >= 3 && kg <= 5) in_range.emplace(key, value);
  }
  ASSERT_EQ(in_range.size(), 60u);
  EXPECT_EQ(Restore(upload, 3, 5), in_range);
  EXPECT_EQ(Restore(upload, 9, 9).size(), 20u);
}

TEST_F(IncrementalSnapshotTest, DamagedFilesAreRefusedWithTheirPath) {
  for (int i = 0; i < 1000; ++i) Put(i % 10, i, std::string(100, 'x'));
  IncrementalUpload upload = Checkpoint(1);
  auto ssts = Ssts(upload);
  ASSERT_FALSE(ssts.empty());
  const proto::StateFile file = ssts.begin()->second;
  ASSERT_TRUE(VerifyStateFile(file).ok());
  const std::string good = (dir_ / "good.sst").string();
  fs::copy_file(file.path(), good);
  auto restore = [&] {
    auto target = NewMemoryStateBackend();
    return RestoreIncremental(upload.files, 0, 0xffff, dir_ / "restore", *target);
  };

  fs::resize_file(file.path(), file.bytes() / 2);
  for (Status s : {VerifyStateFile(file), restore()}) {
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr(file.path()));
    EXPECT_THAT(s.message(), HasSubstr(" is " + std::to_string(file.bytes() / 2) + " bytes, expected " +
                                       std::to_string(file.bytes())));
  }

  fs::copy_file(good, file.path(), fs::copy_options::overwrite_existing);
  {
    std::fstream f(file.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(file.bytes() / 2);
    char c = static_cast<char>(f.get());
    f.seekp(file.bytes() / 2);
    f.put(static_cast<char>(c ^ 0x01));
  }
  for (Status s : {VerifyStateFile(file), restore()}) {
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr(file.path()));
    EXPECT_THAT(s.message(), HasSubstr("checksum mismatch"));
  }

  fs::remove(file.path());
  for (Status s : {VerifyStateFile(file), restore()}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_THAT(s.message(), HasSubstr(file.path()));
  }
  EXPECT_FALSE(fs::exists(dir_ / "restore"));
}

TEST_F(IncrementalSnapshotTest, FailedUploadLeavesNoFiles) {
  Put(1, 1, "v");
  const std::string local = dir_ / "db-chk-1";
  ASSERT_TRUE(backend_->CreateLocalCheckpoint(local).ok());
  // CURRENT cannot be written: a directory is in its place. The SST files,
  // uploaded before it (names sort digits first), must go again.
  const fs::path blocked = dir_ / "chk-1" / "v1-0-op1-a0-CURRENT";
  fs::create_directories(blocked);
  auto upload = uploader_->Upload(1, local, dir_ / "chk-1");
  ASSERT_FALSE(upload.ok());
  EXPECT_THAT(upload.status().message(), HasSubstr("checkpoint 1"));
  EXPECT_THAT(upload.status().message(), HasSubstr(blocked.string()));
  EXPECT_FALSE(fs::exists(local));
  for (const auto& entry : fs::directory_iterator(dir_ / "shared")) ADD_FAILURE() << entry.path();
}

TEST_F(IncrementalSnapshotTest, OnlyRocksDbSupportsIncremental) {
  EXPECT_TRUE(backend_->SupportsIncremental());
  auto memory = OpenStateBackend({"memory", ""});
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE((*memory)->SupportsIncremental());
  auto names = (*memory)->CreateLocalCheckpoint(dir_ / "memory-chk");
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), StatusCode::kUnimplemented);
}

// A restart at the same parallelism reopens the snapshot's files as the
// database; the next checkpoint lists the restored SSTs instead of
// uploading them again.
TEST_F(IncrementalSnapshotTest, ReopenedSnapshotIsTheStateAndItsFilesCountAsUploaded) {
  for (int64_t i = 0; i < 2000; ++i) Put(static_cast<int>(i % 10), i, "v" + std::to_string(i));
  IncrementalUpload first = Checkpoint(1);
  uploader_->Confirm(1);

  auto reopened = OpenStateBackend({"rocksdb", dir_ / "db2"});
  ASSERT_TRUE(reopened.ok());
  const std::string staging = dir_ / "staging";
  ASSERT_TRUE(CopyStateFiles(first.files, staging).ok());
  ASSERT_TRUE((*reopened)->ReopenFrom(staging).ok());
  EXPECT_FALSE(fs::exists(staging)) << "the backend takes the files over";
  Entries got;
  for (auto it = (*reopened)->SnapshotAll(); it->Valid(); it->Next()) got.emplace(it->key(), it->value());
  EXPECT_EQ(got, expected_);

  backend_ = std::move(*reopened);
  uploader_ = std::make_unique<IncrementalUploader>(dir_ / "shared", "v1-0-op1-a1");
  uploader_->Seed(first.files);
  Put(3, 99999, "new");
  IncrementalUpload second = Checkpoint(2);
  auto before = Ssts(first), after = Ssts(second);
  size_t reused = 0;
  for (const auto& [name, file] : before) {
    auto it = after.find(name);
    if (it != after.end() && it->second.path() == file.path()) ++reused;
  }
  EXPECT_EQ(reused, before.size()) << "every restored SST is listed by its existing path";
  EXPECT_EQ(Restore(second), expected_);

  // Files of another job's directory are not taken as ours.
  IncrementalUploader other(dir_ / "other-job" / "shared", "v1-0-op1-a2");
  other.Seed(first.files);
  auto reopened_again = OpenStateBackend({"rocksdb", dir_ / "db3"});
  ASSERT_TRUE(reopened_again.ok());
  ASSERT_TRUE(CopyStateFiles(first.files, staging).ok());
  ASSERT_TRUE((*reopened_again)->ReopenFrom(staging).ok());
  const std::string local = dir_ / "db3-chk-3";
  ASSERT_TRUE((*reopened_again)->CreateLocalCheckpoint(local).ok());
  auto upload = other.Upload(3, local, dir_ / "chk-3");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  for (const auto& [name, file] : Ssts(*upload)) {
    EXPECT_EQ(file.path().rfind((dir_ / "other-job" / "shared").string(), 0), 0u) << file.path();
  }
}

TEST_F(IncrementalSnapshotTest, CopyStateFilesRefusesADamagedFile) {
  Put(1, 1, "x");
  IncrementalUpload upload = Checkpoint(1);
  auto ssts = Ssts(upload);
  ASSERT_FALSE(ssts.empty());
  fs::resize_file(ssts.begin()->second.path(), ssts.begin()->second.bytes() - 3);
  Status s = CopyStateFiles(upload.files, dir_ / "staging");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(ssts.begin()->second.path()));
}

// Several checkpoints in flight: 2 is uploaded but not confirmed yet when 3
// is taken. 3 still reuses what confirmed 1 uploaded, and uploads 2's file
// again under a name of its own (2 may be the one dropped).
TEST_F(IncrementalSnapshotTest, ReusesTheNewestConfirmedFilesWhileLaterOnesAreInFlight) {
  Put(1, 1, "a");
  IncrementalUpload first = Checkpoint(1);
  uploader_->Confirm(1);
  Put(2, 2, "b");
  IncrementalUpload second = Checkpoint(2);
  Put(3, 3, "c");
  IncrementalUpload third = Checkpoint(3);
  auto first_ssts = Ssts(first), second_ssts = Ssts(second), third_ssts = Ssts(third);
  ASSERT_FALSE(first_ssts.empty());
  for (const auto& [name, file] : first_ssts) {
    ASSERT_TRUE(third_ssts.count(name)) << name;
    EXPECT_EQ(third_ssts.at(name).path(), file.path()) << name << " is reused as 1 uploaded it";
  }
  for (const auto& [name, file] : second_ssts) {
    if (first_ssts.count(name) || !third_ssts.count(name)) continue;
    EXPECT_NE(third_ssts.at(name).path(), file.path()) << name << " of unconfirmed 2 is not shared with it";
  }
  EXPECT_EQ(Restore(third), expected_);
}

}  // namespace
}  // namespace sluice
