// A file sink's directory holding an earlier run's output is refused on
// submission unless the sink overwrites it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/job_graph_validator.h"
#include "coordinator/test_graphs.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;
using testing::Op;

class SinkDirectoriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice-sink-dirs-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  proto::JobGraph Into(const std::string& path, const std::string& overwrite = "") {
    proto::JobGraph g = testing::SimpleGraph(2);
    proto::OperatorSpec sink = Op("out", "file-sink", {{"path", path}});
    if (!overwrite.empty()) (*sink.mutable_options())["sink.overwrite"].add_values(overwrite);
    *g.mutable_vertices(0)->mutable_operators(1) = sink;
    return g;
  }

  std::filesystem::path dir_;
};

TEST_F(SinkDirectoriesTest, AMissingOrEmptyDirectoryIsAccepted) {
  EXPECT_TRUE(CheckSinkDirectories(Into(dir_.string())).ok());
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / ".part-0-a1.inprogress") << "a crashed run's staging file\n";
  EXPECT_TRUE(CheckSinkDirectories(Into(dir_.string())).ok()) << "hidden staging files are not output";
  EXPECT_TRUE(CheckSinkDirectories(Into("")).ok()) << "an empty path discards rows";
}

TEST_F(SinkDirectoriesTest, ADirectoryWithEarlierOutputIsRefusedNamingTheSinkAndTheFix) {
  std::filesystem::create_directories(dir_ / "dt=2015-07-15");
  std::ofstream(dir_ / "part-0.jsonl") << "{}\n";
  Status s = CheckSinkDirectories(Into(dir_.string()));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("vertex 'source': operator 'out' (file-sink): directory '" + dir_.string() +
                                     "' is not empty (dt=2015-07-15, part-0.jsonl)"));
  EXPECT_THAT(s.message(), HasSubstr("`sink.overwrite: true`"));
  EXPECT_TRUE(CheckSinkDirectories(Into(dir_.string(), "true")).ok());
}

}  // namespace
}  // namespace sluice
