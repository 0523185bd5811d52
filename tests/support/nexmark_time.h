// Nexmark event times in tests: the generator's base time is a midnight, so
// a run of a few minutes is told apart by the time of day alone.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::testing {

// "2015-07-15 HH:MM:SS.mmm" -> milliseconds since midnight.
inline int64_t TimeOfDayMs(const std::string& t) {
  return ((std::stoll(t.substr(11, 2)) * 60 + std::stoll(t.substr(14, 2))) * 60 + std::stoll(t.substr(17, 2))) * 1000 +
         std::stoll(t.substr(20, 3));
}

}  // namespace sluice::testing
