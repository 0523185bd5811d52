#include "worker/network/channel_state.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "worker/network/record_span.h"

namespace sluice {
namespace {

std::string TempDir() {
  char pattern[] = "/tmp/sluice-chanstate-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  EXPECT_NE(dir, nullptr);
  return dir;
}

TEST(ChannelStateTest, RoundTrips) {
  const std::string dir = TempDir();
  ChannelState state;
  state.inputs[{0, 1}] = std::string("abc\0def", 7);
  state.inputs[{1, 0}] = std::string(100000, 'x');
  state.outputs[{0, 2}] = "queued";
  auto written = WriteChannelState(state, dir + "/t.channels");
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_GT(*written, state.bytes());
  auto read = ReadChannelState(dir + "/t.channels");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->inputs, state.inputs);
  EXPECT_EQ(read->outputs, state.outputs);
  std::filesystem::remove_all(dir);
}

TEST(ChannelStateTest, DamageIsReportedWithThePath) {
  const std::string dir = TempDir();
  ChannelState state;
  state.inputs[{0, 0}] = std::string(5000, 'y');
  const std::string path = dir + "/t.channels";
  ASSERT_TRUE(WriteChannelState(state, path).ok());
  // A flipped byte.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('z');
  }
  auto flipped = ReadChannelState(path);
  ASSERT_FALSE(flipped.ok());
  EXPECT_NE(flipped.status().message().find(path), std::string::npos);
  EXPECT_NE(flipped.status().message().find("checksum"), std::string::npos);
  // Cut short.
  std::filesystem::resize_file(path, 1000);
  auto cut = ReadChannelState(path);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("cut short"), std::string::npos);
  EXPECT_FALSE(ReadChannelState(dir + "/missing").ok());
  std::filesystem::remove_all(dir);
}

// A reader stopped inside a record hands out what it has read of it; a fresh
// reader fed those bytes and then the rest of the stream reads every
// remaining record whole, whatever the split point.
TEST(ChannelStateTest, PartialBytesResumeTheStream) {
  std::vector<std::string> records = {"first record", std::string(70, 'b'), "c", std::string(300, 'd'), "tail"};
  std::string stream;
  for (const auto& r : records) {
    uint32_t n = static_cast<uint32_t>(r.size());
    stream.append(reinterpret_cast<const char*>(&n), 4);
    stream += r;
  }
  for (size_t split = 1; split < stream.size(); ++split) {
    RecordSpanReader first(1 << 20);
    first.SetBuffer(reinterpret_cast<const uint8_t*>(stream.data()), static_cast<uint32_t>(split));
    const uint8_t* rec;
    uint32_t size;
    size_t done = 0;
    while (*first.Next(&rec, &size)) ++done;
    std::string rest = first.PartialBytes() + stream.substr(split);
    RecordSpanReader second(1 << 20);
    second.SetBuffer(reinterpret_cast<const uint8_t*>(rest.data()), static_cast<uint32_t>(rest.size()));
    std::vector<std::string> got;
    while (*second.Next(&rec, &size)) got.emplace_back(reinterpret_cast<const char*>(rec), size);
    ASSERT_EQ(done + got.size(), records.size()) << "split at " << split;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], records[done + i]) << "split at " << split;
    EXPECT_FALSE(second.has_partial());
  }
}

}  // namespace
}  // namespace sluice
