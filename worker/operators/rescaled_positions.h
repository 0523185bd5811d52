// Sources whose subtask i of p reads the numbers n = i (mod p) (datagen ids,
// Nexmark events) restore at another parallelism from every old subtask's
// position: number n was read iff n < position[n mod old p]. A new subtask
// starts at its first number at or after the smallest old position and
// skips the numbers already read; past the largest, nothing is skipped.
#pragma once

#include <charconv>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

class RescaledPositions {
 public:
  static Result<RescaledPositions> Parse(const std::vector<std::string>& positions) {
    RescaledPositions r;
    for (size_t j = 0; j < positions.size(); ++j) {
      int64_t n = 0;
      const std::string& p = positions[j];
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
      if (ec != std::errc() || end != p.data() + p.size() || n < 0 ||
          n % static_cast<int64_t>(positions.size()) != static_cast<int64_t>(j)) {
        return Status::InvalidArgument("position '" + p + "' of old subtask " + std::to_string(j) + " of " +
                                       std::to_string(positions.size()) + " is not one of its numbers");
      }
      r.positions_.push_back(n);
      r.min_ = j == 0 ? n : std::min(r.min_, n);
      r.max_ = std::max(r.max_, n);
    }
    if (r.positions_.empty()) return Status::InvalidArgument("no positions to restore");
    return r;
  }

  // The first number of `subtask` of `parallelism` at or after the smallest
  // old position.
  int64_t Start(int64_t subtask, int64_t parallelism) const {
    return min_ + (((subtask - min_ % parallelism) % parallelism) + parallelism) % parallelism;
  }
  bool Read(int64_t n) const {
    return n < max_ && n < positions_[static_cast<size_t>(n % static_cast<int64_t>(positions_.size()))];
  }
  int64_t end() const { return max_; }  // nothing at or past it was read

 private:
  std::vector<int64_t> positions_;
  int64_t min_ = 0, max_ = 0;
};

}  // namespace sluice
