#include "worker/network/key_groups.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>

namespace sluice {
namespace {

// The hash is a word-at-a-time multiply/rotate mix in the style of murmur3's
// 64-bit block step, with a strong finalizer. Every constant is part of the
// persistent format (see the header).
constexpr uint64_t kSeed = 0x2545f4914f6cdd1dULL;
constexpr uint64_t kMulA = 0x87c37b91114253d5ULL;
constexpr uint64_t kMulB = 0x4cf5ad432745937fULL;
constexpr uint64_t kNullMarker = 0x6e756c6c6b657921ULL;  // "null" in key form
constexpr uint64_t kStringSeed = 0x9e3779b97f4a7c15ULL;

// Folds one 64-bit word into the running state; order-sensitive.
inline uint64_t MixWord(uint64_t h, uint64_t k) {
  k *= kMulA;
  k = std::rotl(k, 31);
  k *= kMulB;
  h ^= k;
  h = std::rotl(h, 27);
  return h * 5 + 0x52dce729ULL;
}

// Avalanche: every input bit affects every output bit.
inline uint64_t Finalize(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Loads n <= 8 bytes as a little-endian integer, independent of host order.
inline uint64_t LoadLittleEndian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  if (n == 8 && std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
    return v;
  }
  for (size_t i = n; i > 0; --i) v = (v << 8) | p[i - 1];
  return v;
}

uint64_t HashBytes(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t h = kStringSeed;
  while (n >= 8) {
    h = MixWord(h, LoadLittleEndian(p, 8));
    p += 8;
    n -= 8;
  }
  if (n > 0) h = MixWord(h, LoadLittleEndian(p, n));
  // The length tells "ab" from "ab\0".
  return Finalize(h ^ static_cast<uint64_t>(s.size()));
}

uint64_t DoubleBits(double d) {
  if (d == 0.0) d = 0.0;  // -0.0 == 0.0: fold the sign
  if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
  return std::bit_cast<uint64_t>(d);
}

}  // namespace

uint64_t HashKeyFields(const RowView& row, const std::vector<size_t>& fields,
                       const Schema& schema) {
  uint64_t h = kSeed;
  for (size_t f : fields) {
    uint64_t word;
    if (row.IsNull(f)) {
      word = kNullMarker;
    } else {
      switch (schema.field(f).type) {
        case FieldType::kBool:
          word = row.GetBool(f) ? 1 : 0;
          break;
        case FieldType::kInt64:
        case FieldType::kDecimal:
        case FieldType::kTimestamp:
          word = static_cast<uint64_t>(row.GetInt64(f));
          break;
        case FieldType::kDouble:
          word = DoubleBits(row.GetDouble(f));
          break;
        case FieldType::kString:
          word = HashBytes(row.GetString(f));
          break;
        default:
          word = 0;
          break;
      }
    }
    h = MixWord(h, word);
  }
  return Finalize(h ^ static_cast<uint64_t>(fields.size()));
}

int KeyGroupOf(uint64_t hash, int max_parallelism) {
  assert(max_parallelism > 0);
  // A second, different finalizer, so callers may pass hashes from any source.
  uint64_t z = hash;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<int>(z % static_cast<uint64_t>(max_parallelism));
}

int OperatorIndexForKeyGroup(int key_group, int max_parallelism, int parallelism) {
  assert(max_parallelism > 0 && parallelism > 0);
  assert(key_group >= 0 && key_group < max_parallelism);
  return static_cast<int>(static_cast<int64_t>(key_group) * parallelism / max_parallelism);
}

KeyGroupRange KeyGroupRangeForOperator(int index, int max_parallelism, int parallelism) {
  assert(max_parallelism > 0 && parallelism > 0);
  assert(index >= 0 && index < parallelism);
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  return {static_cast<int>(ceil_div(int64_t{index} * max_parallelism, parallelism)),
          static_cast<int>(ceil_div(int64_t{index + 1} * max_parallelism, parallelism))};
}

}  // namespace sluice
