#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/sluice-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::ofstream(path) << text;
  close(fd);
  return path;
}

TEST(ConfigTest, DefaultsComeFromTheKeyTable) {
  Config c;
  EXPECT_EQ(c.GetString("rpc.address"), "127.0.0.1:6123");
  EXPECT_EQ(*c.GetDurationMs("heartbeat.timeout"), 5000);
  EXPECT_EQ(*c.GetInt("jobs.max-parallelism"), 128);
}

TEST(ConfigTest, FileThenOverrides) {
  std::string path = WriteTemp("heartbeat:\n  timeout: 2s\nworker.slots: 4\n");
  auto c = Config::Load(path, {"worker.slots=8", " log.level = debug "});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c->GetDurationMs("heartbeat.timeout"), 2000);
  EXPECT_EQ(*c->GetInt("worker.slots"), 8);
  EXPECT_EQ(c->GetString("log.level"), "debug");
  std::remove(path.c_str());
}

TEST(ConfigTest, UnknownKeysAreErrorsThatNameTheKey) {
  Config c;
  Status s = c.SetOverride("heartbeat.timout=3s");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown config key 'heartbeat.timout' (did you mean 'heartbeat.timeout'?"));
  std::string path = WriteTemp("rpc.address: 127.0.0.1:1\nbogus: 1\n");
  auto loaded = Config::Load(path, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("'bogus'"));
  std::remove(path.c_str());
}

TEST(ConfigTest, TheNearestKeyIsTheOneFewestEditsAway) {
  EXPECT_EQ(EditDistance("checkpoint.intervall", "checkpoint.interval"), 1u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_STREQ(NearestConfigKey("checkpoint.intervall", true)->name, "checkpoint.interval");
  EXPECT_STREQ(NearestConfigKey("heartbeat.intervall")->name, "heartbeat.interval");
  // Among job keys only, a daemon key is never suggested.
  EXPECT_TRUE(NearestConfigKey("heartbeat.intervall", true)->per_job);
}

TEST(ConfigTest, MalformedInput) {
  Config c;
  EXPECT_FALSE(c.SetOverride("no-equals-sign").ok());
  EXPECT_FALSE(c.SetOverride("=value").ok());
  std::string path = WriteTemp("a: [unclosed\n");
  auto loaded = Config::Load(path, {});
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr(path));
  std::remove(path.c_str());
  EXPECT_EQ(Config::Load("/nonexistent/sluice.yaml", {}).status().code(), StatusCode::kNotFound);
}

TEST(ConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("5 s"), 5000);
  EXPECT_EQ(*ParseDurationMs("2min"), 120000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(*ParseDurationMs("250"), 250);
  EXPECT_EQ(*ParseDurationMs("1.5s"), 1500);
  EXPECT_FALSE(ParseDurationMs("fast").ok());
  EXPECT_FALSE(ParseDurationMs("5 parsecs").ok());
  EXPECT_EQ(*ParseBytes("64mb"), 64ll << 20);
  EXPECT_EQ(*ParseBytes("32 KiB"), 32 << 10);
  EXPECT_EQ(*ParseBytes("1g"), 1ll << 30);
  EXPECT_FALSE(ParseBytes("lots").ok());
  Config c;
  ASSERT_TRUE(c.Set("worker.slots", "two").ok());
  EXPECT_THAT(c.GetInt("worker.slots").status().message(), HasSubstr("config key 'worker.slots'"));
}

// Every key Sluice knows is documented, with its default, in one place.
TEST(ConfigTest, EveryKeyIsDocumented) {
  std::ifstream in(SLUICE_SOURCE_DIR "/docs/configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& key : AllConfigKeys()) {
    EXPECT_THAT(text.str(), HasSubstr(std::string("`") + key.name + "`")) << key.name;
    EXPECT_THAT(text.str(), HasSubstr(key.default_value)) << key.name;
  }
}

}  // namespace
}  // namespace sluice
