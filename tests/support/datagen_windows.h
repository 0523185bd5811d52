// The windowed datagen job of the exactly-once fault tests: datagen rows
// (id: key id % keys, value (id * 7919) % 1000, ts base + id ms) counted and
// summed per key in 1 s tumbling windows ("count(*) AS n", "sum(value) AS
// total") into the file sink. Results are compared as sorted
// "key|window start (s)|n|total" lines.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "tests/support/nexmark_time.h"
#include "tests/support/sqlite_reference.h"

namespace sluice::testing {

// What a run without failures of `rows` rows over `keys` keys publishes.
inline std::multiset<std::string> ExpectedDatagenWindows(int64_t rows, int64_t keys) {
  std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> windows;
  for (int64_t id = 0; id < rows; ++id) {
    auto& [n, total] = windows[{id / 1000, id % keys}];
    ++n;
    total += (id * 7919) % 1000;
  }
  std::multiset<std::string> lines;
  for (const auto& [w, v] : windows) {
    lines.insert(std::to_string(w.second) + "|" + std::to_string(w.first) + "|" + std::to_string(v.first) + "|" +
                 std::to_string(v.second));
  }
  return lines;
}

// The published output under `out`; a hidden (staged) file left behind is a
// test failure. The window start is in seconds since the base time (a
// midnight).
inline std::multiset<std::string> DatagenWindowOutput(const std::string& out) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out)) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
  }
  std::multiset<std::string> lines;
  for (const auto& r : ReadJsonRows(out)) {
    int64_t start = TimeOfDayMs(r["window_start"].get<std::string>()) / 1000;
    lines.insert(r["key"].dump() + "|" + std::to_string(start) + "|" + r["n"].dump() + "|" + r["total"].dump());
  }
  return lines;
}

}  // namespace sluice::testing
