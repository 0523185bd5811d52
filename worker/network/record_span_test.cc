#include "worker/network/record_span.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sluice {
namespace {

// A buffer with its own storage.
struct OwnedBuffer {
  explicit OwnedBuffer(uint32_t capacity) : storage(capacity) {
    buffer.data = storage.data();
    buffer.capacity = capacity;
  }
  std::vector<uint8_t> storage;
  Buffer buffer;
};

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Writes the records into buffers of `capacity` bytes, returning each
// buffer's filled bytes.
std::vector<std::vector<uint8_t>> WriteAll(const std::vector<std::vector<uint8_t>>& records,
                                           uint32_t capacity) {
  std::vector<std::vector<uint8_t>> out;
  OwnedBuffer buf(capacity);
  RecordSpanWriter w;
  auto flush = [&] {
    out.emplace_back(buf.storage.begin(), buf.storage.begin() + buf.buffer.size);
    buf.buffer.size = 0;
  };
  for (const auto& r : records) {
    w.Start(r.data(), static_cast<uint32_t>(r.size()));
    EXPECT_TRUE(w.pending());
    while (!w.CopyTo(buf.buffer)) {
      EXPECT_TRUE(buf.buffer.full());
      flush();
    }
    EXPECT_FALSE(w.pending());
  }
  if (buf.buffer.size > 0) flush();
  return out;
}

struct ReadResult {
  std::vector<std::vector<uint8_t>> records;
  int zero_copy = 0;  // records returned as pointers into a buffer
};

ReadResult ReadAll(const std::vector<std::vector<uint8_t>>& buffers, uint32_t max_record) {
  ReadResult result;
  RecordSpanReader r(max_record);
  for (const auto& b : buffers) {
    r.SetBuffer(b.data(), static_cast<uint32_t>(b.size()));
    while (true) {
      const uint8_t* rec = nullptr;
      uint32_t size = 0;
      auto got = r.Next(&rec, &size);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || !*got) break;
      EXPECT_NE(rec, nullptr);
      if (rec >= b.data() && rec + size <= b.data() + b.size()) ++result.zero_copy;
      result.records.emplace_back(rec, rec + size);
    }
  }
  EXPECT_FALSE(r.has_partial());
  return result;
}

TEST(RecordSpanTest, ManySmallRecordsInOneBuffer) {
  std::vector<std::vector<uint8_t>> records;
  for (int i = 0; i < 100; ++i) records.push_back(Bytes("record-" + std::to_string(i)));
  auto buffers = WriteAll(records, 32 * 1024);
  ASSERT_EQ(buffers.size(), 1u);
  auto read = ReadAll(buffers, 1 << 20);
  EXPECT_EQ(read.records, records);
  EXPECT_EQ(read.zero_copy, 100);  // none needed the scratch buffer
}

TEST(RecordSpanTest, RecordSpanningTwoBuffers) {
  std::vector<std::vector<uint8_t>> records = {Bytes("aaaaaaaaaa"), Bytes("bbbbbbbbbbbbbbb")};
  // 4 + 10 = 14 bytes, then 4 + 15: the second record crosses into buffer 2.
  auto buffers = WriteAll(records, 24);
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].size(), 24u);
  auto read = ReadAll(buffers, 100);
  EXPECT_EQ(read.records, records);
  EXPECT_EQ(read.zero_copy, 1);
}

TEST(RecordSpanTest, RecordSpanningManyBuffers) {
  std::vector<uint8_t> big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + 3);
  std::vector<std::vector<uint8_t>> records = {Bytes("x"), big, Bytes("y")};
  auto buffers = WriteAll(records, 64);
  EXPECT_GE(buffers.size(), 10000u / 64);
  auto read = ReadAll(buffers, 10000);
  EXPECT_EQ(read.records, records);
}

// The writer splits the prefix wherever the buffer ends; feed the reader a
// stream cut at every offset inside (and around) the 4-byte prefix.
TEST(RecordSpanTest, PrefixSplitAtEveryOffset) {
  std::vector<uint8_t> first = Bytes("hello");
  std::vector<uint8_t> second = Bytes("world, spanning");
  // Stream: [4][hello][4][world...]; the second prefix starts at offset 9.
  std::vector<std::vector<uint8_t>> records = {first, second};
  auto stream = WriteAll(records, 1024);
  ASSERT_EQ(stream.size(), 1u);
  const auto& s = stream[0];
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    std::vector<std::vector<uint8_t>> buffers = {{s.begin(), s.begin() + cut},
                                                 {s.begin() + cut, s.end()}};
    auto read = ReadAll(buffers, 100);
    EXPECT_EQ(read.records, records) << "cut at " << cut;
  }
  // And via the writer: buffer capacities that end inside either prefix.
  for (uint32_t capacity = 1; capacity <= 12; ++capacity) {
    auto buffers = WriteAll(records, capacity);
    EXPECT_EQ(ReadAll(buffers, 100).records, records) << "capacity " << capacity;
  }
}

TEST(RecordSpanTest, ThreeWaySplitPrefix) {
  // One byte per buffer: the prefix arrives in four pieces.
  std::vector<std::vector<uint8_t>> records = {Bytes("abc"), {}, Bytes("d")};
  auto buffers = WriteAll(records, 1);
  EXPECT_EQ(buffers.size(), 4u + 3 + 4 + 0 + 4 + 1);
  EXPECT_EQ(ReadAll(buffers, 10).records, records);
}

TEST(RecordSpanTest, ZeroLengthRecords) {
  std::vector<std::vector<uint8_t>> records = {{}, {}, Bytes("z"), {}};
  for (uint32_t capacity : {1u, 2u, 3u, 4u, 5u, 7u, 64u}) {
    auto buffers = WriteAll(records, capacity);
    auto read = ReadAll(buffers, 10);
    EXPECT_EQ(read.records, records) << capacity;
  }
  // A record of size 0 whose prefix fills the buffer exactly: CopyTo is done.
  OwnedBuffer buf(4);
  RecordSpanWriter w;
  w.Start(nullptr, 0);
  EXPECT_TRUE(w.CopyTo(buf.buffer));
  EXPECT_TRUE(buf.buffer.full());
}

TEST(RecordSpanTest, WriterMakesNoProgressOnAFullBuffer) {
  OwnedBuffer buf(6);
  std::vector<uint8_t> rec = Bytes("abcdef");
  RecordSpanWriter w;
  w.Start(rec.data(), 6);
  EXPECT_FALSE(w.CopyTo(buf.buffer));
  EXPECT_EQ(buf.buffer.size, 6u);
  EXPECT_FALSE(w.CopyTo(buf.buffer));  // full: nothing copied, still pending
  EXPECT_TRUE(w.pending());
  EXPECT_EQ(buf.buffer.size, 6u);
  OwnedBuffer next(16);
  EXPECT_TRUE(w.CopyTo(next.buffer));
  EXPECT_EQ(next.buffer.size, 4u);
  EXPECT_FALSE(w.pending());
  EXPECT_TRUE(w.CopyTo(next.buffer));  // idle: nothing to do
  EXPECT_EQ(next.buffer.size, 4u);
}

TEST(RecordSpanTest, WriterAppendsAfterExistingBytes) {
  OwnedBuffer buf(16);
  buf.buffer.size = 3;  // e.g. an earlier record's tail
  std::vector<uint8_t> rec = Bytes("xy");
  RecordSpanWriter w;
  w.Start(rec.data(), 2);
  EXPECT_TRUE(w.CopyTo(buf.buffer));
  EXPECT_EQ(buf.buffer.size, 9u);
  std::vector<uint8_t> expected = {2, 0, 0, 0, 'x', 'y'};
  EXPECT_EQ(std::vector<uint8_t>(buf.storage.begin() + 3, buf.storage.begin() + 9), expected);
}

TEST(RecordSpanTest, OddCapacitiesRandomRecordsRoundTrip) {
  std::mt19937 rng(2024);
  for (uint32_t capacity : {7u, 13u, 64u, 1000u}) {
    std::vector<std::vector<uint8_t>> records;
    for (int i = 0; i < 3000; ++i) {
      // Mostly small records, a few large ones, some empty.
      uint32_t size = rng() % 10 == 0 ? rng() % 500 : rng() % 20;
      std::vector<uint8_t> r(size);
      for (auto& b : r) b = static_cast<uint8_t>(rng());
      records.push_back(std::move(r));
    }
    auto buffers = WriteAll(records, capacity);
    for (size_t i = 0; i + 1 < buffers.size(); ++i) {
      ASSERT_EQ(buffers[i].size(), capacity) << "only the last buffer may be partial";
    }
    auto read = ReadAll(buffers, 500);
    ASSERT_EQ(read.records.size(), records.size()) << capacity;
    EXPECT_EQ(read.records, records) << capacity;
  }
}

TEST(RecordSpanTest, OversizeLengthIsAnError) {
  std::vector<uint8_t> stream = {0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3};
  RecordSpanReader r(1 << 20);
  r.SetBuffer(stream.data(), static_cast<uint32_t>(stream.size()));
  const uint8_t* rec;
  uint32_t size;
  auto got = r.Next(&rec, &size);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("record of 2147483647 bytes exceeds the limit of 1048576"),
            std::string::npos)
      << got.status().message();
  // Sticky until Reset.
  EXPECT_FALSE(r.Next(&rec, &size).ok());
  r.Reset();
  std::vector<uint8_t> good = {1, 0, 0, 0, 'q'};
  r.SetBuffer(good.data(), 5);
  got = r.Next(&rec, &size);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(*got);
  EXPECT_EQ(size, 1u);
  EXPECT_EQ(rec[0], 'q');
}

TEST(RecordSpanTest, OversizeLengthInSplitPrefix) {
  std::vector<uint8_t> a = {0x01, 0x00};
  std::vector<uint8_t> b = {0x00, 0x01};  // 0x01000001 bytes
  RecordSpanReader r(1000);
  const uint8_t* rec;
  uint32_t size;
  r.SetBuffer(a.data(), 2);
  auto got = r.Next(&rec, &size);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  EXPECT_TRUE(r.has_partial());
  r.SetBuffer(b.data(), 2);
  EXPECT_FALSE(r.Next(&rec, &size).ok());
}

TEST(RecordSpanTest, LimitIsInclusive) {
  std::vector<uint8_t> rec(100, 9);
  auto buffers = WriteAll({rec}, 30);
  EXPECT_EQ(ReadAll(buffers, 100).records.size(), 1u);
}

TEST(RecordSpanTest, PartialRecordAtEndOfStream) {
  std::vector<std::vector<uint8_t>> records = {Bytes("0123456789")};
  auto buffers = WriteAll(records, 8);
  RecordSpanReader r(100);
  const uint8_t* rec;
  uint32_t size;
  r.SetBuffer(buffers[0].data(), 8);
  auto got = r.Next(&rec, &size);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  EXPECT_TRUE(r.has_partial());
  r.Reset();
  EXPECT_FALSE(r.has_partial());
}

TEST(RecordSpanTest, EmptyBufferKeepsPartial) {
  std::vector<uint8_t> stream = {3, 0, 0, 0, 'a', 'b', 'c'};
  RecordSpanReader r(10);
  const uint8_t* rec;
  uint32_t size;
  r.SetBuffer(stream.data(), 5);  // prefix + 'a'
  ASSERT_FALSE(*r.Next(&rec, &size));
  r.SetBuffer(stream.data() + 5, 0);
  ASSERT_FALSE(*r.Next(&rec, &size));
  EXPECT_TRUE(r.has_partial());
  r.SetBuffer(stream.data() + 5, 2);
  auto got = r.Next(&rec, &size);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rec), size), "abc");
  EXPECT_FALSE(*r.Next(&rec, &size));
  EXPECT_FALSE(r.has_partial());
}

// Random bytes as a stream: errors or records, never a crash, an overread or
// a record over the limit.
TEST(RecordSpanTest, RandomStreamsNeverCrash) {
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    RecordSpanReader r(64);
    std::vector<uint8_t> buf;
    for (int b = 0; b < 10; ++b) {
      buf.assign(rng() % 40, 0);
      for (auto& x : buf) x = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 50);
      r.SetBuffer(buf.data(), static_cast<uint32_t>(buf.size()));
      bool failed = false;
      while (true) {
        const uint8_t* rec;
        uint32_t size;
        auto got = r.Next(&rec, &size);
        if (!got.ok()) {
          failed = true;
          break;
        }
        if (!*got) break;
        ASSERT_LE(size, 64u);
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < size; ++i) sink = sink + rec[i];
      }
      if (failed) break;
    }
  }
}

}  // namespace
}  // namespace sluice
