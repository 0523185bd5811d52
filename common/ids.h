// Random identifiers (job ids, worker ids). Not thread-safe: each owner keeps
// its own generator under its own lock.
#pragma once

#include <random>
#include <string>

namespace sluice {

class IdGenerator {
 public:
  IdGenerator() : engine_(std::random_device{}()) {}
  explicit IdGenerator(uint64_t seed) : engine_(seed) {}

  // `hex_digits` lowercase hex characters.
  std::string NextHex(int hex_digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string id(hex_digits, '0');
    for (char& c : id) c = kDigits[engine_() & 15];
    return id;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace sluice
