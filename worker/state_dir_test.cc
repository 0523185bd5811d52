#include "worker/state_dir.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

namespace fs = std::filesystem;

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-state-dir-test-XXXXXX";
    root_ = ::mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A pid no process has: a child's, once it has been reaped.
  static pid_t DeadPid() {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
  }
  std::string MakeDir(const std::string& name, bool with_lock_file) {
    std::string dir = root_ + "/" + name;
    fs::create_directories(dir + "/job-1");
    std::ofstream(dir + "/job-1/000012.sst") << "state";
    if (with_lock_file) std::ofstream(dir + "/.lock") << "";
    return dir;
  }

  std::string root_;
};

TEST_F(StateDirTest, TheDirectoryOfADeadWorkerIsRemovedAndALiveOnesKept) {
  const std::string own = root_ + "/worker-" + std::to_string(::getpid());
  auto own_lock = LockWorkerStateDir(own);
  ASSERT_TRUE(own_lock.ok()) << own_lock.status().ToString();
  const std::string dead = MakeDir("worker-" + std::to_string(DeadPid()), false);
  // A lock file nobody holds: its worker died, even if its pid was reused
  // since (here by this very test process).
  const std::string reused = MakeDir("worker-" + std::to_string(::getppid()), true);
  // Locked by a live worker: kept whatever its name says.
  const std::string live = MakeDir("worker-" + std::to_string(DeadPid()), false);
  auto live_lock = LockWorkerStateDir(live);
  ASSERT_TRUE(live_lock.ok());
  // Not a worker's directory at all.
  fs::create_directories(root_ + "/checkpoints");

  auto removed = RemoveStaleWorkerStateDirs(root_, own);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(reused));
  EXPECT_TRUE(fs::exists(live + "/job-1/000012.sst"));
  EXPECT_TRUE(fs::exists(own));
  EXPECT_TRUE(fs::exists(root_ + "/checkpoints"));
  ::close(*live_lock);
  ::close(*own_lock);
}

TEST_F(StateDirTest, ADirectoryWithoutALockFileIsKeptWhileItsPidLives) {
  const std::string starting = MakeDir("worker-" + std::to_string(::getpid()), false);
  EXPECT_TRUE(RemoveStaleWorkerStateDirs(root_, "").empty());
  EXPECT_TRUE(fs::exists(starting));
}

TEST_F(StateDirTest, ADirectoryLockedByAnotherLiveWorkerCannotBeTaken) {
  const std::string dir = root_ + "/worker-1";
  auto first = LockWorkerStateDir(dir);
  ASSERT_TRUE(first.ok());
  auto second = LockWorkerStateDir(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  ::close(*first);
}

TEST_F(StateDirTest, AMissingRootHasNothingToRemove) {
  EXPECT_TRUE(RemoveStaleWorkerStateDirs(root_ + "/none", "").empty());
}

}  // namespace
}  // namespace sluice
