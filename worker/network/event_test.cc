#include "worker/network/event.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace sluice {
namespace {

Event RoundTrip(const Event& e) {
  uint8_t b[kEventBytes];
  EncodeEvent(e, b);
  auto d = DecodeEvent(b, kEventBytes);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : Event{};
}

TEST(EventTest, SizeIsFixed) { EXPECT_EQ(kEventBytes, 17u); }

TEST(EventTest, RoundTripsEveryType) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (int64_t w : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1700000000123}, kMin, kMax}) {
    EXPECT_EQ(RoundTrip(Event::Watermark(w)), Event::Watermark(w));
  }
  EXPECT_EQ(RoundTrip(Event::Barrier(1, 1700000000000)), Event::Barrier(1, 1700000000000));
  EXPECT_EQ(RoundTrip(Event::Barrier(kMax, kMin)), Event::Barrier(kMax, kMin));
  EXPECT_EQ(RoundTrip(Event::WatermarkStatus(true)), Event::WatermarkStatus(true));
  EXPECT_EQ(RoundTrip(Event::WatermarkStatus(false)), Event::WatermarkStatus(false));
  EXPECT_EQ(RoundTrip(Event::EndOfPartition()), Event::EndOfPartition());
  EXPECT_EQ(Event::EndOfPartition().type, EventType::kEndOfPartition);
}

TEST(EventTest, Layout) {
  uint8_t b[kEventBytes];
  EncodeEvent(Event::Barrier(0x0102030405060708, -2), b);
  std::vector<uint8_t> expected = {2,    8,    7,    6,    5,    4,    3,    2,   1,
                                   0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_EQ(std::vector<uint8_t>(b, b + kEventBytes), expected);
}

TEST(EventTest, OnlyTheTypesFieldsAreEncoded) {
  Event e = Event::Watermark(5);
  e.checkpoint_id = 99;  // stray value: not part of a watermark
  EXPECT_EQ(RoundTrip(e), Event::Watermark(5));
  Event eop = Event::EndOfPartition();
  eop.watermark_ms = 7;
  EXPECT_EQ(RoundTrip(eop), Event::EndOfPartition());
}

TEST(EventTest, WrongSize) {
  uint8_t b[kEventBytes + 1] = {};
  EncodeEvent(Event::Watermark(1), b);
  for (size_t n : {size_t{0}, size_t{1}, kEventBytes - 1, kEventBytes + 1}) {
    auto d = DecodeEvent(b, n);
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find("expected exactly 17"), std::string::npos);
  }
}

TEST(EventTest, UnknownType) {
  uint8_t b[kEventBytes] = {};
  for (int t : {0, 6, 200}) {
    b[0] = static_cast<uint8_t>(t);
    auto d = DecodeEvent(b, kEventBytes);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().message(), "unknown event type " + std::to_string(t));
  }
}

TEST(EventTest, UnalignedBarrierRoundTrips) {
  uint8_t b[kEventBytes];
  Event e = Event::UnalignedBarrier(9, 1234);
  EncodeEvent(e, b);
  EXPECT_EQ(b[0], kUnalignedBarrierCode);
  auto d = DecodeEvent(b, kEventBytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, EventType::kCheckpointBarrier);
  EXPECT_TRUE(d->unaligned);
  EXPECT_EQ(d->checkpoint_id, 9);
  EXPECT_EQ(d->checkpoint_timestamp_ms, 1234);
  EncodeEvent(Event::Barrier(9, 1234), b);
  EXPECT_FALSE(DecodeEvent(b, kEventBytes)->unaligned);
}

TEST(EventTest, NonzeroUnusedFieldsRejected) {
  uint8_t b[kEventBytes];
  EncodeEvent(Event::Watermark(1), b);
  b[16] = 1;
  EXPECT_FALSE(DecodeEvent(b, kEventBytes).ok());
  EncodeEvent(Event::EndOfPartition(), b);
  b[1] = 1;
  EXPECT_FALSE(DecodeEvent(b, kEventBytes).ok());
}

TEST(EventTest, ToString) {
  EXPECT_EQ(Event::Watermark(1000).ToString(), "Watermark(1000)");
  EXPECT_EQ(Event::Barrier(7, 123).ToString(), "Barrier(7 @ 123)");
  EXPECT_EQ(Event::EndOfPartition().ToString(), "EndOfPartition");
}

}  // namespace
}  // namespace sluice
