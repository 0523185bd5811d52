#include "common/records/row.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace sluice {
namespace {

TEST(RowTest, EveryTypeRoundTrips) {
  RowBuilder b(7);
  b.SetBool(0, true);
  b.SetInt64(1, std::numeric_limits<int64_t>::min());
  b.SetDouble(2, -1.5e-300);
  b.SetDecimalUnscaled(3, -5);
  b.SetString(4, "héllo");
  b.SetTimestampMillis(5, 1436918400000);
  b.SetBool(6, false);
  RowView r = b.Finish();
  ASSERT_TRUE(r.valid());
  EXPECT_EQ(r.num_fields(), 7u);
  EXPECT_EQ(r.size() % 8, 0u);
  EXPECT_GE(r.size(), row_layout::FixedBytes(7) + 6);
  for (size_t i = 0; i < 7; ++i) EXPECT_FALSE(r.IsNull(i)) << i;
  EXPECT_TRUE(r.GetBool(0));
  EXPECT_EQ(r.GetInt64(1), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.GetDouble(2), -1.5e-300);
  EXPECT_EQ(r.GetDecimalUnscaled(3), -5);
  EXPECT_EQ(r.GetString(4), "héllo");
  EXPECT_EQ(r.GetTimestampMillis(5), 1436918400000);
  EXPECT_FALSE(r.GetBool(6));
}

TEST(RowTest, SpecialDoubles) {
  RowBuilder b(3);
  b.SetDouble(0, std::numeric_limits<double>::quiet_NaN());
  b.SetDouble(1, -std::numeric_limits<double>::infinity());
  b.SetDouble(2, -0.0);
  RowView r = b.Finish();
  EXPECT_TRUE(std::isnan(r.GetDouble(0)));
  EXPECT_EQ(r.GetDouble(1), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::signbit(r.GetDouble(2)));
}

TEST(RowTest, UnsetFieldsAreNull) {
  RowBuilder b(4);
  b.SetInt64(2, 7);
  RowView r = b.Finish();
  EXPECT_TRUE(r.IsNull(0));
  EXPECT_TRUE(r.IsNull(1));
  EXPECT_FALSE(r.IsNull(2));
  EXPECT_TRUE(r.IsNull(3));
  EXPECT_EQ(r.GetInt64(2), 7);
}

TEST(RowTest, SetNullAfterValueAndValueAfterNull) {
  RowBuilder b(2);
  b.SetInt64(0, 5);
  b.SetNull(0);
  b.SetNull(1);
  b.SetString(1, "x");
  RowView r = b.Finish();
  EXPECT_TRUE(r.IsNull(0));
  EXPECT_FALSE(r.IsNull(1));
  EXPECT_EQ(r.GetString(1), "x");
}

TEST(RowTest, EmptyAndRepeatedStrings) {
  RowBuilder b(3);
  b.SetString(0, "");
  b.SetString(1, "first");
  b.SetString(1, "second");  // the first copy is wasted, the slot points at the new one
  b.SetString(2, std::string(1000, 'z'));
  RowView r = b.Finish();
  EXPECT_FALSE(r.IsNull(0));
  EXPECT_EQ(r.GetString(0), "");
  EXPECT_EQ(r.GetString(1), "second");
  EXPECT_EQ(r.GetString(2), std::string(1000, 'z'));
}

TEST(RowTest, StringFromOwnBufferSurvivesGrowth) {
  RowBuilder b(2);
  b.SetString(0, "abcdefgh");
  RowView r = b.Finish();
  b.SetString(1, r.GetString(0));  // aliases the builder's buffer
  r = b.Finish();
  EXPECT_EQ(r.GetString(0), "abcdefgh");
  EXPECT_EQ(r.GetString(1), "abcdefgh");
}

TEST(RowTest, ZeroFields) {
  RowBuilder b(0);
  RowView r = b.Finish();
  EXPECT_EQ(r.num_fields(), 0u);
  EXPECT_EQ(r.size(), row_layout::kHeaderBytes);
}

TEST(RowTest, ManyFieldsCrossBitmapWords) {
  constexpr size_t kFields = 150;
  RowBuilder b(kFields);
  for (size_t i = 0; i < kFields; ++i) {
    if (i % 3 == 0) continue;  // null
    if (i % 3 == 1) b.SetInt64(i, static_cast<int64_t>(i) * 1000);
    if (i % 3 == 2) b.SetString(i, "s" + std::to_string(i));
  }
  RowView r = b.Finish();
  EXPECT_EQ(r.num_fields(), kFields);
  for (size_t i = 0; i < kFields; ++i) {
    EXPECT_EQ(r.IsNull(i), i % 3 == 0) << i;
    if (i % 3 == 1) {
      EXPECT_EQ(r.GetInt64(i), static_cast<int64_t>(i) * 1000);
    } else if (i % 3 == 2) {
      EXPECT_EQ(r.GetString(i), "s" + std::to_string(i));
    }
  }
}

TEST(RowTest, BitmapBoundaryFields) {
  for (size_t n : {63u, 64u, 65u, 128u, 129u}) {
    RowBuilder b(n);
    b.SetInt64(n - 1, 42);
    b.SetInt64(0, 1);
    RowView r = b.Finish();
    EXPECT_FALSE(r.IsNull(n - 1)) << n;
    EXPECT_EQ(r.GetInt64(n - 1), 42) << n;
    EXPECT_EQ(r.GetInt64(0), 1) << n;
    for (size_t i = 1; i + 1 < n; ++i) {
      EXPECT_TRUE(r.IsNull(i)) << n << " " << i;
    }
  }
}

TEST(RowTest, BuilderReuseDoesNotReallocate) {
  RowBuilder b(3);
  const std::string long_text(200, 'q');
  auto build = [&](int64_t k) {
    b.Reset();
    b.SetInt64(0, k);
    b.SetString(1, k % 2 ? std::string_view(long_text) : std::string_view("short"));
    return b.Finish();
  };
  const uint8_t* warm = build(1).data();
  for (int64_t k = 0; k < 100; ++k) {
    RowView r = build(k);
    EXPECT_EQ(r.data(), warm);
    EXPECT_EQ(r.GetInt64(0), k);
    EXPECT_EQ(r.GetString(1), k % 2 ? long_text : "short");
    EXPECT_TRUE(r.IsNull(2));
  }
}

TEST(RowTest, ResetClearsEverything) {
  RowBuilder b(2);
  b.SetInt64(0, 1);
  b.SetString(1, "abc");
  const uint32_t first_size = b.Finish().size();
  b.Reset();
  RowView r = b.Finish();
  EXPECT_TRUE(r.IsNull(0));
  EXPECT_TRUE(r.IsNull(1));
  EXPECT_LT(r.size(), first_size);
}

TEST(RowTest, EqualRowsAreByteIdentical) {
  RowBuilder a(3), b(3);
  a.SetInt64(0, 9);
  a.SetNull(1);
  a.SetString(2, "k");
  b.SetInt64(1, 1234);  // then overwritten by NULL: the slot must be zeroed
  b.SetNull(1);
  b.SetString(2, "k");
  b.SetInt64(0, 9);
  EXPECT_EQ(CopyRow(a.Finish()), CopyRow(b.Finish()));
}

TEST(RowTest, CopyRowIsIndependent) {
  RowBuilder b(2);
  b.SetString(0, "kept");
  b.SetInt64(1, 5);
  std::vector<uint8_t> copy = CopyRow(b.Finish());
  b.Reset();
  b.SetString(0, "overwritten");
  b.Finish();
  RowView r(copy.data());
  EXPECT_EQ(copy.size(), r.size());
  EXPECT_EQ(r.GetString(0), "kept");
  EXPECT_EQ(r.GetInt64(1), 5);
}

}  // namespace
}  // namespace sluice
