#include "worker/network/key_groups.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice {
namespace {

Schema KeySchema() {
  return Schema({{"id", FieldType::kInt64},
                 {"name", FieldType::kString},
                 {"price", FieldType::kDouble},
                 {"flag", FieldType::kBool},
                 {"ts", FieldType::kTimestamp},
                 {"amount", FieldType::kDecimal, true, 2}});
}

// ---- Key-group ranges -------------------------------------------------------

std::vector<std::pair<int, int>> ParallelismPairs() {
  std::vector<std::pair<int, int>> pairs;
  for (int maxp : {1, 2, 3, 7, 10, 128, 129, 1000, 32768}) {
    for (int p = 1; p <= maxp && p <= 40; ++p) pairs.emplace_back(maxp, p);
    if (maxp >= 127) pairs.emplace_back(maxp, 127);
    pairs.emplace_back(maxp, maxp);
  }
  return pairs;
}

TEST(KeyGroupRangeTest, RangesAreContiguousAndCover) {
  for (auto [maxp, p] : ParallelismPairs()) {
    int next = 0;
    for (int i = 0; i < p; ++i) {
      KeyGroupRange r = KeyGroupRangeForOperator(i, maxp, p);
      ASSERT_EQ(r.start, next) << maxp << "/" << p << " op " << i;
      ASSERT_FALSE(r.empty()) << maxp << "/" << p << " op " << i;
      // Balanced: sizes differ by at most one.
      ASSERT_GE(r.size(), maxp / p);
      ASSERT_LE(r.size(), (maxp + p - 1) / p);
      next = r.end;
    }
    ASSERT_EQ(next, maxp) << maxp << "/" << p;
  }
}

TEST(KeyGroupRangeTest, ConsistentWithOperatorIndex) {
  for (auto [maxp, p] : ParallelismPairs()) {
    for (int kg = 0; kg < maxp; ++kg) {
      int op = OperatorIndexForKeyGroup(kg, maxp, p);
      ASSERT_GE(op, 0);
      ASSERT_LT(op, p);
      ASSERT_TRUE(KeyGroupRangeForOperator(op, maxp, p).Contains(kg))
          << "maxp " << maxp << " p " << p << " kg " << kg << " op " << op;
      // ...and no neighbouring operator claims it too.
      if (op > 0) {
        ASSERT_FALSE(KeyGroupRangeForOperator(op - 1, maxp, p).Contains(kg));
      }
      if (op + 1 < p) {
        ASSERT_FALSE(KeyGroupRangeForOperator(op + 1, maxp, p).Contains(kg));
      }
    }
  }
}

TEST(KeyGroupRangeTest, KnownValues) {
  // 128 over 3: 128 * i / 3 rounded up -> 0, 43, 86, 128.
  EXPECT_EQ(KeyGroupRangeForOperator(0, 128, 3), (KeyGroupRange{0, 43}));
  EXPECT_EQ(KeyGroupRangeForOperator(1, 128, 3), (KeyGroupRange{43, 86}));
  EXPECT_EQ(KeyGroupRangeForOperator(2, 128, 3), (KeyGroupRange{86, 128}));
  EXPECT_EQ(OperatorIndexForKeyGroup(42, 128, 3), 0);
  EXPECT_EQ(OperatorIndexForKeyGroup(43, 128, 3), 1);
  EXPECT_EQ(OperatorIndexForKeyGroup(127, 128, 3), 2);
  EXPECT_EQ(KeyGroupRangeForOperator(0, 128, 1), (KeyGroupRange{0, 128}));
  EXPECT_EQ(KeyGroupRangeForOperator(3, 128, 4), (KeyGroupRange{96, 128}));
}

TEST(KeyGroupRangeTest, NoOverflowAtLargeMaxParallelism) {
  int maxp = 1 << 15;
  int p = maxp;
  EXPECT_EQ(OperatorIndexForKeyGroup(maxp - 1, maxp, p), p - 1);
  EXPECT_EQ(KeyGroupRangeForOperator(p - 1, maxp, p), (KeyGroupRange{maxp - 1, maxp}));
}

// ---- Hashing ----------------------------------------------------------------

TEST(KeyHashTest, KeyGroupInRange) {
  for (int maxp : {1, 2, 7, 128, 32768}) {
    for (uint64_t h : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}, uint64_t{0x8000000000000000}}) {
      int kg = KeyGroupOf(h, maxp);
      EXPECT_GE(kg, 0);
      EXPECT_LT(kg, maxp);
    }
  }
}

// Pinned values: the hash decides where keyed state lives in checkpoints, so
// changing it is a format change. If this fails, you changed the function.
TEST(KeyHashTest, FixedValues) {
  Schema schema = KeySchema();
  RowBuilder b(6);
  b.SetInt64(0, 42);
  b.SetString(1, "alice");
  b.SetDouble(2, 9.75);
  b.SetBool(3, true);
  b.SetTimestampMillis(4, 1700000000000);
  b.SetDecimalUnscaled(5, -1234);
  RowView row = b.Finish();
  uint64_t h_id = HashKeyFields(row, {0}, schema);
  uint64_t h_name = HashKeyFields(row, {1}, schema);
  uint64_t h_all = HashKeyFields(row, {0, 1, 2, 3, 4, 5}, schema);
  EXPECT_EQ(h_id, 0x28b8a2e3b859776bULL);
  EXPECT_EQ(h_name, 0xd9ef0685edb3795dULL);
  EXPECT_EQ(h_all, 0xd232456831bc711eULL);
  EXPECT_EQ(KeyGroupOf(h_id, 128), 82);
  EXPECT_EQ(KeyGroupOf(h_name, 128), 8);

  b.Reset();  // all NULL
  RowView nulls = b.Finish();
  EXPECT_EQ(HashKeyFields(nulls, {0, 1}, schema), 0xadc7d2611d669db3ULL);
}

TEST(KeyHashTest, DeterministicAndFieldSensitive) {
  Schema schema = KeySchema();
  RowBuilder b1(6), b2(6);
  b1.SetInt64(0, 7);
  b1.SetString(1, "bob");
  b2.SetInt64(0, 7);
  b2.SetString(1, "bob");
  b2.SetDouble(2, 1.0);  // not a key field
  std::vector<uint8_t> r1 = CopyRow(b1.Finish());
  std::vector<uint8_t> r2 = CopyRow(b2.Finish());
  RowView v1(r1.data()), v2(r2.data());
  EXPECT_EQ(HashKeyFields(v1, {0, 1}, schema), HashKeyFields(v2, {0, 1}, schema));
  EXPECT_EQ(HashKeyFields(v1, {0, 1}, schema), HashKeyFields(v1, {0, 1}, schema));
  // Field order matters; a key is not its subset.
  EXPECT_NE(HashKeyFields(v1, {0, 1}, schema), HashKeyFields(v1, {1, 0}, schema));
  EXPECT_NE(HashKeyFields(v1, {0, 1}, schema), HashKeyFields(v1, {0}, schema));
  // NULL differs from 0 and from "".
  RowBuilder b3(6);
  b3.SetInt64(0, 0);
  b3.SetString(1, "");
  RowView v3 = b3.Finish();
  RowBuilder b4(6);
  RowView v4 = b4.Finish();
  EXPECT_NE(HashKeyFields(v3, {0}, schema), HashKeyFields(v4, {0}, schema));
  EXPECT_NE(HashKeyFields(v3, {1}, schema), HashKeyFields(v4, {1}, schema));
}

TEST(KeyHashTest, IntegerLikeTypesHashByValue) {
  Schema schema = KeySchema();
  RowBuilder b(6);
  b.SetInt64(0, 123456);
  b.SetTimestampMillis(4, 123456);
  b.SetDecimalUnscaled(5, 123456);
  RowView row = b.Finish();
  uint64_t h = HashKeyFields(row, {0}, schema);
  EXPECT_EQ(HashKeyFields(row, {4}, schema), h);
  EXPECT_EQ(HashKeyFields(row, {5}, schema), h);
}

TEST(KeyHashTest, DoubleNormalization) {
  Schema schema = KeySchema();
  auto hash_double = [&](double d) {
    RowBuilder b(6);
    b.SetDouble(2, d);
    return HashKeyFields(b.Finish(), {2}, schema);
  };
  EXPECT_EQ(hash_double(-0.0), hash_double(0.0));
  EXPECT_EQ(hash_double(std::nan("1")), hash_double(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(hash_double(-std::numeric_limits<double>::quiet_NaN()),
            hash_double(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_NE(hash_double(1.0), hash_double(-1.0));
  EXPECT_NE(hash_double(1.0), hash_double(2.0));
}

TEST(KeyHashTest, StringsHashByBytes) {
  Schema schema = KeySchema();
  auto hash_string = [&](std::string_view s) {
    RowBuilder b(6);
    b.SetString(1, s);
    return HashKeyFields(b.Finish(), {1}, schema);
  };
  EXPECT_EQ(hash_string("same"), hash_string(std::string("sa") + "me"));
  EXPECT_NE(hash_string("ab"), hash_string(std::string("ab\0", 3)));
  EXPECT_NE(hash_string("abcdefgh"), hash_string("abcdefgi"));
  EXPECT_NE(hash_string("abcdefgh1"), hash_string("abcdefgh2"));
  EXPECT_NE(hash_string(""), hash_string(std::string(1, '\0')));
  // No collisions among many short, similar strings.
  std::set<uint64_t> seen;
  for (int i = 0; i < 20000; ++i) seen.insert(hash_string("user-" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 20000u);
}

TEST(KeyHashTest, BoolIsZeroOrOne) {
  Schema schema = KeySchema();
  RowBuilder t(6), f(6);
  t.SetBool(3, true);
  f.SetBool(3, false);
  EXPECT_NE(HashKeyFields(t.Finish(), {3}, schema), HashKeyFields(f.Finish(), {3}, schema));
}

TEST(KeyHashTest, DistributionOverKeyGroups) {
  Schema schema = KeySchema();
  constexpr int kGroups = 128;
  constexpr int kKeys = 10000;
  for (int field : {0, 1}) {
    std::vector<int> counts(kGroups, 0);
    RowBuilder b(6);
    for (int k = 0; k < kKeys; ++k) {
      b.Reset();
      if (field == 0) {
        b.SetInt64(0, k);
      } else {
        b.SetString(1, "key" + std::to_string(k));
      }
      ++counts[KeyGroupOf(HashKeyFields(b.Finish(), {static_cast<size_t>(field)}, schema),
                          kGroups)];
    }
    double mean = static_cast<double>(kKeys) / kGroups;
    for (int g = 0; g < kGroups; ++g) {
      EXPECT_GT(counts[g], 0) << "field " << field << " group " << g;
      EXPECT_LE(counts[g], 3 * mean) << "field " << field << " group " << g;
    }
  }
}

TEST(KeyHashTest, KeyGroupOfSpreadsWeakHashes) {
  // Hashes that differ only in high bits still spread over the groups.
  std::set<int> groups;
  for (uint64_t i = 0; i < 1000; ++i) groups.insert(KeyGroupOf(i << 40, 128));
  EXPECT_EQ(groups.size(), 128u);
}

}  // namespace
}  // namespace sluice
