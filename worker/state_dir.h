// Each worker process keeps its tasks' RocksDB working state under a
// directory of its own, <state.dir>/worker-<pid>, removed when it stops. A
// worker killed (kill -9, a crash, the host's OOM killer) cannot remove it,
// so every worker removes, when it starts, the directories that dead workers
// left behind.
//
// Whether a directory's owner lives is told by an flock(2) on
// <dir>/.lock, taken by the worker when it creates the directory and held
// for its whole life: the kernel drops the lock when the process ends,
// however it ends, and a process that later gets the same pid does not hold
// it. So a reused pid neither keeps a stale directory alive nor gets a live
// one removed, as a "is pid N alive?" test would. Only a directory without
// a lock file (its worker between creating it and locking it) falls back to
// the pid in its name: it stays while a process of that pid exists.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

// Creates `dir` (and its parents) and locks it for this process: returns the
// descriptor that holds the lock, to keep open for the process's life.
// FAILED_PRECONDITION if another live process holds it.
Result<int> LockWorkerStateDir(const std::string& dir);

// Removes the worker-<pid> directories under `root` whose owner is dead
// (see above), except `own`; returns the paths removed. A missing `root`
// has none.
std::vector<std::string> RemoveStaleWorkerStateDirs(const std::string& root, const std::string& own);

}  // namespace sluice
