// What both daemons do at start and stop: block termination signals and wait
// for one, and publish the address a server actually bound.
#pragma once

#include <string>

#include "common/status.h"

namespace sluice {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread it
// starts afterwards; call first thing in main().
void BlockTerminationSignals();
// Waits for one of the blocked signals and returns its number.
int WaitForTerminationSignal();

// Writes `content` to `path` atomically (temp file + rename), so a reader
// polling for the file never sees half of it.
Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace sluice
