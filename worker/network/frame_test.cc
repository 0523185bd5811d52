#include "worker/network/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "worker/network/event.h"

namespace sluice {
namespace {

constexpr uint32_t kMax = 32 * 1024 + kBufferFramePrefixBytes;

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::vector<uint8_t> Header(FrameType type, uint32_t length, uint32_t channel) {
  std::vector<uint8_t> h(kFrameHeaderBytes);
  EncodeFrameHeader({length, type, channel}, h.data());
  return h;
}

PartitionRequest SampleRequest() {
  PartitionRequest r;
  r.job_id = "job-42";
  r.attempt = 3;
  r.producer_vertex = "map_1";
  r.producer_subtask = 2;
  r.output_index = 1;
  r.subpartition = 5;
  r.initial_credit = 2;
  r.consumer_worker = "worker-b:7001";
  r.consumer_task = "sink_0/4";
  return r;
}

TEST(FrameHeaderTest, LayoutIsLittleEndian) {
  auto h = Header(FrameType::kBuffer, 0x01020304, 0xA0B0C0D0);
  std::vector<uint8_t> expected = {0x04, 0x03, 0x02, 0x01, 3, 1, 0, 0, 0xD0, 0xC0, 0xB0, 0xA0};
  EXPECT_EQ(h, expected);
}

TEST(FrameHeaderTest, RoundTripsEveryType) {
  struct Case {
    FrameType type;
    uint32_t length;
  };
  const Case cases[] = {
      {FrameType::kPartitionRequest, static_cast<uint32_t>(kPartitionRequestMinBytes + 10)},
      {FrameType::kAddCredit, 4},
      {FrameType::kBuffer, kMax},
      {FrameType::kBuffer, 8},
      {FrameType::kEvent, static_cast<uint32_t>(kEventBytes)},
      {FrameType::kClose, 0},
      {FrameType::kError, 0},
      {FrameType::kError, 17},
  };
  for (const Case& c : cases) {
    for (uint32_t channel : {0u, 1u, 77u, 0xFFFFFFFFu}) {
      auto h = Header(c.type, c.length, channel);
      FrameHeader out;
      ASSERT_TRUE(DecodeFrameHeader(h.data(), h.size(), kMax, &out).ok())
          << FrameTypeName(c.type);
      EXPECT_EQ(out, (FrameHeader{c.length, c.type, channel}));
    }
  }
}

TEST(FrameHeaderTest, IgnoresBytesAfterTheHeader) {
  std::string frame = EncodeFrame(FrameType::kError, 9, "boom");
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 4);
  FrameHeader out;
  ASSERT_TRUE(DecodeFrameHeader(Bytes(frame), frame.size(), kMax, &out).ok());
  EXPECT_EQ(out, (FrameHeader{4, FrameType::kError, 9}));
  EXPECT_EQ(frame.substr(kFrameHeaderBytes), "boom");
}

TEST(FrameHeaderTest, Truncated) {
  auto h = Header(FrameType::kClose, 0, 1);
  for (size_t n = 0; n < kFrameHeaderBytes; ++n) {
    FrameHeader out;
    Status s = DecodeFrameHeader(h.data(), n, kMax, &out);
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "truncated frame header: " + std::to_string(n) + " of 12 bytes");
  }
}

TEST(FrameHeaderTest, BadVersion) {
  auto h = Header(FrameType::kClose, 0, 1);
  h[5] = 3;
  FrameHeader out;
  Status s = DecodeFrameHeader(h.data(), h.size(), kMax, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unsupported frame version 3"), std::string::npos) << s.message();
  h[5] = 0;
  EXPECT_FALSE(DecodeFrameHeader(h.data(), h.size(), kMax, &out).ok());
}

TEST(FrameHeaderTest, NonzeroReserved) {
  for (int byte : {6, 7}) {
    auto h = Header(FrameType::kClose, 0, 1);
    h[byte] = 1;
    FrameHeader out;
    Status s = DecodeFrameHeader(h.data(), h.size(), kMax, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("reserved"), std::string::npos) << s.message();
  }
}

TEST(FrameHeaderTest, UnknownType) {
  for (int t : {0, 7, 9, 255}) {
    auto h = Header(FrameType::kClose, 0, 1);
    h[4] = static_cast<uint8_t>(t);
    FrameHeader out;
    Status s = DecodeFrameHeader(h.data(), h.size(), kMax, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "unknown frame type " + std::to_string(t));
  }
}

TEST(FrameHeaderTest, Oversize) {
  auto h = Header(FrameType::kBuffer, 70000, 4);
  FrameHeader out;
  Status s = DecodeFrameHeader(h.data(), h.size(), 32780, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("frame of 70000 bytes exceeds the limit of 32780"),
            std::string::npos)
      << s.message();
  // Exactly at the limit is fine; one over is not; a huge length is refused.
  h = Header(FrameType::kBuffer, 32780, 4);
  EXPECT_TRUE(DecodeFrameHeader(h.data(), h.size(), 32780, &out).ok());
  h = Header(FrameType::kBuffer, 32781, 4);
  EXPECT_FALSE(DecodeFrameHeader(h.data(), h.size(), 32780, &out).ok());
  h = Header(FrameType::kError, 0xFFFFFFFF, 4);
  EXPECT_FALSE(DecodeFrameHeader(h.data(), h.size(), 32780, &out).ok());
}

TEST(FrameHeaderTest, PerTypePayloadSizes) {
  struct Case {
    FrameType type;
    uint32_t length;
    bool ok;
  };
  const Case cases[] = {
      {FrameType::kBuffer, 7, false},
      {FrameType::kBuffer, 0, false},
      {FrameType::kBuffer, 8, true},
      {FrameType::kAddCredit, 3, false},
      {FrameType::kAddCredit, 5, false},
      {FrameType::kAddCredit, 4, true},
      {FrameType::kEvent, static_cast<uint32_t>(kEventBytes - 1), false},
      {FrameType::kEvent, static_cast<uint32_t>(kEventBytes + 1), false},
      {FrameType::kClose, 1, false},
      {FrameType::kPartitionRequest, static_cast<uint32_t>(kPartitionRequestMinBytes - 1), false},
      {FrameType::kPartitionRequest, static_cast<uint32_t>(kPartitionRequestMinBytes), true},
  };
  for (const Case& c : cases) {
    auto h = Header(c.type, c.length, 12);
    FrameHeader out;
    Status s = DecodeFrameHeader(h.data(), h.size(), kMax, &out);
    EXPECT_EQ(s.ok(), c.ok) << FrameTypeName(c.type) << " " << c.length << ": " << s.ToString();
    if (!c.ok) {
      EXPECT_NE(s.message().find("channel 12"), std::string::npos) << s.message();
    }
  }
}

TEST(BufferPrefixTest, RoundTrip) {
  uint8_t b[kBufferFramePrefixBytes];
  for (uint32_t seq : {0u, 1u, 123456u, 0xFFFFFFFFu}) {
    for (uint32_t backlog : {0u, 7u, 0xFFFFFFFFu}) {
      EncodeBufferPrefix(seq, backlog, b);
      uint32_t s = 1, bl = 1;
      DecodeBufferPrefix(b, &s, &bl);
      EXPECT_EQ(s, seq);
      EXPECT_EQ(bl, backlog);
    }
  }
  EncodeBufferPrefix(0x01020304, 0x0A0B0C0D, b);
  std::vector<uint8_t> expected = {4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A};
  EXPECT_EQ(std::vector<uint8_t>(b, b + 8), expected);
}

TEST(PartitionRequestTest, RoundTrip) {
  PartitionRequest r = SampleRequest();
  std::string p = EncodePartitionRequest(r);
  EXPECT_EQ(p.size(), kPartitionRequestMinBytes + 6 + 5 + 13 + 8);
  auto decoded = DecodePartitionRequest(Bytes(p), p.size());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, r);

  // Its frame passes the header check.
  std::string frame = EncodeFrame(FrameType::kPartitionRequest, 3, p);
  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(Bytes(frame), frame.size(), kMax, &h).ok());
  EXPECT_EQ(h.payload_length, p.size());
}

TEST(PartitionRequestTest, EmptyStringsAndExtremes) {
  PartitionRequest r;
  r.attempt = -1;  // attempt is opaque to the codec
  r.producer_subtask = 0x7FFFFFFF;
  r.initial_credit = 0;
  std::string p = EncodePartitionRequest(r);
  EXPECT_EQ(p.size(), kPartitionRequestMinBytes);
  auto decoded = DecodePartitionRequest(Bytes(p), p.size());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, r);

  r.job_id = std::string(1000, '\0') + "x";  // bytes, not C strings
  p = EncodePartitionRequest(r);
  decoded = DecodePartitionRequest(Bytes(p), p.size());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->job_id, r.job_id);
}

TEST(PartitionRequestTest, EveryTruncationFails) {
  std::string p = EncodePartitionRequest(SampleRequest());
  for (size_t n = 0; n < p.size(); ++n) {
    auto decoded = DecodePartitionRequest(Bytes(p), n);
    EXPECT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(PartitionRequestTest, TrailingBytes) {
  std::string p = EncodePartitionRequest(SampleRequest()) + "z";
  auto decoded = DecodePartitionRequest(Bytes(p), p.size());
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("1 trailing bytes"), std::string::npos)
      << decoded.status().message();
}

TEST(PartitionRequestTest, StringLengthBeyondPayload) {
  std::string p = EncodePartitionRequest(SampleRequest());
  // Overwrite the job_id length with a huge value.
  p[0] = p[1] = p[2] = p[3] = '\xFF';
  auto decoded = DecodePartitionRequest(Bytes(p), p.size());
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("job_id has length 4294967295"), std::string::npos)
      << decoded.status().message();
}

TEST(PartitionRequestTest, NegativeFieldsRejected) {
  auto check = [](PartitionRequest r, const std::string& field) {
    std::string p = EncodePartitionRequest(r);
    auto decoded = DecodePartitionRequest(Bytes(p), p.size());
    ASSERT_FALSE(decoded.ok()) << field;
    EXPECT_NE(decoded.status().message().find("negative " + field), std::string::npos)
        << decoded.status().message();
  };
  PartitionRequest r = SampleRequest();
  r.subpartition = -1;
  check(r, "subpartition");
  r = SampleRequest();
  r.initial_credit = -5;
  check(r, "initial_credit");
  r = SampleRequest();
  r.producer_subtask = -2;
  check(r, "producer_subtask");
  r = SampleRequest();
  r.output_index = -3;
  check(r, "output_index");
}

TEST(AddCreditTest, RoundTripAndErrors) {
  uint8_t b[kAddCreditPayloadBytes];
  for (int32_t c : {1, 2, 1000, 0x7FFFFFFF}) {
    EncodeAddCredit(c, b);
    auto d = DecodeAddCredit(b, sizeof b);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, c);
  }
  EXPECT_FALSE(DecodeAddCredit(b, 3).ok());
  EXPECT_FALSE(DecodeAddCredit(b, 0).ok());
  uint8_t zero[4] = {0, 0, 0, 0};
  auto d = DecodeAddCredit(zero, 4);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("add-credit of 0"), std::string::npos);
  uint8_t negative[4] = {0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_FALSE(DecodeAddCredit(negative, 4).ok());
  uint8_t five[5] = {1, 0, 0, 0, 0};
  EXPECT_FALSE(DecodeAddCredit(five, 5).ok());
}

TEST(FrameTest, CloseAndErrorFrames) {
  std::string close = EncodeFrame(FrameType::kClose, 5, "");
  ASSERT_EQ(close.size(), kFrameHeaderBytes);
  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(Bytes(close), close.size(), kMax, &h).ok());
  EXPECT_EQ(h, (FrameHeader{0, FrameType::kClose, 5}));

  std::string msg = "task sink_0 failed: disk full — ✗";
  std::string error = EncodeFrame(FrameType::kError, 6, msg);
  ASSERT_TRUE(DecodeFrameHeader(Bytes(error), error.size(), kMax, &h).ok());
  EXPECT_EQ(h, (FrameHeader{static_cast<uint32_t>(msg.size()), FrameType::kError, 6}));
  EXPECT_EQ(error.substr(kFrameHeaderBytes, h.payload_length), msg);
}

TEST(FrameTest, EventFrameRoundTrip) {
  uint8_t payload[kEventBytes];
  EncodeEvent(Event::Barrier(9, 1700000000000), payload);
  std::string frame = EncodeFrame(FrameType::kEvent, 2,
                                  std::string_view(reinterpret_cast<char*>(payload), kEventBytes));
  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(Bytes(frame), frame.size(), kMax, &h).ok());
  EXPECT_EQ(h.type, FrameType::kEvent);
  auto e = DecodeEvent(Bytes(frame) + kFrameHeaderBytes, h.payload_length);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, Event::Barrier(9, 1700000000000));
}

TEST(FrameTest, BufferFrameRoundTrip) {
  std::string data = "some record bytes";
  std::vector<uint8_t> frame(kFrameHeaderBytes + kBufferFramePrefixBytes + data.size());
  EncodeFrameHeader(
      {static_cast<uint32_t>(kBufferFramePrefixBytes + data.size()), FrameType::kBuffer, 11},
      frame.data());
  EncodeBufferPrefix(41, 3, frame.data() + kFrameHeaderBytes);
  std::memcpy(frame.data() + kFrameHeaderBytes + kBufferFramePrefixBytes, data.data(),
              data.size());

  FrameHeader h;
  ASSERT_TRUE(DecodeFrameHeader(frame.data(), frame.size(), kMax, &h).ok());
  EXPECT_EQ(h.type, FrameType::kBuffer);
  EXPECT_EQ(h.channel_id, 11u);
  uint32_t seq, backlog;
  DecodeBufferPrefix(frame.data() + kFrameHeaderBytes, &seq, &backlog);
  EXPECT_EQ(seq, 41u);
  EXPECT_EQ(backlog, 3u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(frame.data()) + kFrameHeaderBytes +
                            kBufferFramePrefixBytes,
                        h.payload_length - kBufferFramePrefixBytes),
            data);
}

// Random bytes must decode to an error or a valid value, never crash or read
// out of bounds (run under ASan/UBSan in the sanitizer build).
TEST(FrameFuzzTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> buf;
  int headers_ok = 0, requests_ok = 0, credits_ok = 0;
  for (int i = 0; i < 100000; ++i) {
    size_t n = rng() % 80;
    buf.assign(n, 0);
    for (auto& b : buf) b = static_cast<uint8_t>(byte(rng));
    // Bias some inputs towards plausible headers so the deeper checks run.
    if (n >= kFrameHeaderBytes && i % 2 == 0) {
      buf[5] = kFrameVersion;
      buf[6] = buf[7] = 0;
      buf[4] = static_cast<uint8_t>(1 + rng() % 6);
      buf[2] = buf[3] = 0;
    }
    FrameHeader h;
    Status s = DecodeFrameHeader(buf.data(), buf.size(), kMax, &h);
    if (s.ok()) {
      ++headers_ok;
      EXPECT_LE(h.payload_length, kMax);
    }
    // Make length prefixes of the request sometimes small and plausible.
    if (n >= 4 && i % 3 == 0) buf[1] = buf[2] = buf[3] = 0, buf[0] %= 8;
    auto r = DecodePartitionRequest(buf.data(), buf.size());
    if (r.ok()) {
      ++requests_ok;
      EXPECT_EQ(EncodePartitionRequest(*r), std::string(buf.begin(), buf.end()));
    }
    auto c = DecodeAddCredit(buf.data(), buf.size());
    if (c.ok()) {
      ++credits_ok;
      EXPECT_GT(*c, 0);
    }
    auto e = DecodeEvent(buf.data(), buf.size());
    if (e.ok()) {
      uint8_t again[kEventBytes];
      EncodeEvent(*e, again);
      EXPECT_EQ(std::vector<uint8_t>(again, again + kEventBytes), buf);
    }
  }
  // The biased inputs make sure the success paths were exercised too.
  EXPECT_GT(headers_ok, 100);
  EXPECT_GT(credits_ok, 100);
  (void)requests_ok;  // random bytes almost never form a valid request
}

// Mutations of a valid request reach the deeper decoding paths.
TEST(FrameFuzzTest, MutatedPartitionRequests) {
  const std::string valid = EncodePartitionRequest(SampleRequest());
  std::mt19937_64 rng(777);
  int ok = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string p = valid;
    int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 4) {
        case 0:
          p[rng() % p.size()] = static_cast<char>(rng());
          break;
        case 1:
          p[rng() % p.size()] ^= static_cast<char>(1 << (rng() % 8));
          break;
        case 2:
          p.resize(rng() % (p.size() + 1));
          if (p.empty()) p = valid;
          break;
        case 3:
          p.insert(rng() % p.size(), 1, static_cast<char>(rng()));
          break;
      }
    }
    auto r = DecodePartitionRequest(Bytes(p), p.size());
    if (r.ok()) {
      ++ok;
      EXPECT_EQ(EncodePartitionRequest(*r), p);  // decoding is exact
    }
  }
  EXPECT_GT(ok, 1000);
}

TEST(SequenceCheckerTest, AcceptsInOrder) {
  SequenceChecker c;
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(c.Check(i).ok()) << i;
  EXPECT_EQ(c.expected(), 1000u);
}

TEST(SequenceCheckerTest, GapAndDuplicate) {
  SequenceChecker c;
  for (uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(c.Check(i).ok());
  Status gap = c.Check(7);
  EXPECT_EQ(gap.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gap.message(), "buffer sequence gap: expected 5, got 7");
  Status dup = c.Check(4);
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "duplicate buffer sequence 4 (expected 5)");
  // Errors do not advance the checker.
  EXPECT_EQ(c.expected(), 5u);
  EXPECT_TRUE(c.Check(5).ok());
  c.Reset();
  EXPECT_TRUE(c.Check(0).ok());
  EXPECT_FALSE(c.Check(0).ok());
}

TEST(SequenceCheckerTest, FirstBufferMustBeZero) {
  SequenceChecker c;
  Status s = c.Check(1);
  EXPECT_EQ(s.message(), "buffer sequence gap: expected 0, got 1");
  EXPECT_EQ(c.Check(0xFFFFFFFF).message(), "duplicate buffer sequence 4294967295 (expected 0)");
}

// Comparison is in serial-number order (RFC 1982 style), so a number just
// "below" the expected one across the wrap counts as a duplicate, not a gap.
TEST(SequenceCheckerTest, SerialNumberComparison) {
  SequenceChecker c;
  for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(c.Check(i).ok());
  EXPECT_EQ(c.Check(0xFFFFFFFEu).message(),
            "duplicate buffer sequence 4294967294 (expected 3)");
  EXPECT_EQ(c.Check(0x7FFFFFFFu).message(), "buffer sequence gap: expected 3, got 2147483647");
}

}  // namespace
}  // namespace sluice
