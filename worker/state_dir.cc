#include "worker/state_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice {
namespace {

namespace fs = std::filesystem;

constexpr char kLockFile[] = ".lock";
constexpr char kPrefix[] = "worker-";

// Whether a process of this pid exists (EPERM: it does, as another user's).
bool PidAlive(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return true;
  const pid_t pid = static_cast<pid_t>(std::stol(text));
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// Whether the directory's owner is dead. Called with nothing locked.
bool OwnerDead(const fs::path& dir, int* lock_fd) {
  *lock_fd = ::open((dir / kLockFile).c_str(), O_RDWR | O_CLOEXEC);
  if (*lock_fd < 0) {
    // No lock file: its worker may be starting; its pid tells (a name that
    // is no pid is left alone).
    return !PidAlive(dir.filename().string().substr(sizeof(kPrefix) - 1));
  }
  // Ours now: the owner is gone (the lock is released with the process).
  // Held until the directory is removed, so a second worker cleaning at
  // the same time skips it.
  return ::flock(*lock_fd, LOCK_EX | LOCK_NB) == 0;
}

}  // namespace

Result<int> LockWorkerStateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create state directory '" + dir + "' (state.dir): " + ec.message());
  const std::string path = dir + "/" + kLockFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("cannot create '" + path + "' (state.dir): " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition("state directory '" + dir + "' is locked by another live worker");
    }
    return Status::Internal("cannot lock '" + path + "': " + std::strerror(err));
  }
  return fd;
}

std::vector<std::string> RemoveStaleWorkerStateDirs(const std::string& root, const std::string& own) {
  std::vector<std::string> removed;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) return removed;
  const fs::path own_path = fs::path(own).lexically_normal();
  for (const auto& entry : it) {
    const fs::path dir = entry.path();
    if (dir.filename().string().rfind(kPrefix, 0) != 0 || !entry.is_directory(ec)) continue;
    if (dir.lexically_normal() == own_path) continue;
    int lock_fd = -1;
    if (OwnerDead(dir, &lock_fd)) {
      fs::remove_all(dir, ec);
      if (!ec) removed.push_back(dir.string());
    }
    if (lock_fd >= 0) ::close(lock_fd);
  }
  return removed;
}

}  // namespace sluice
