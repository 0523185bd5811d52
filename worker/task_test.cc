#include "worker/task.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unistd.h>

#include "common/catalog/graph_schema.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

proto::OperatorSpec Op(const std::string& id, const std::string& type,
                       std::initializer_list<std::pair<std::string, std::string>> options = {}) {
  proto::OperatorSpec op;
  op.set_id(id);
  op.set_type(type);
  for (const auto& [k, v] : options) (*op.mutable_options())[k].add_values(v);
  return op;
}

proto::Vertex Chain(std::vector<proto::OperatorSpec> ops, int parallelism = 1) {
  proto::Vertex v;
  v.set_id(ops[0].id());
  v.set_parallelism(parallelism);
  for (auto& op : ops) *v.add_operators() = op;
  auto catalog = OperatorCatalog::Builtin();
  auto schema = ResolveChain(catalog, {}, &v);
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  return v;
}

struct Recorder {
  std::mutex mu;
  std::vector<proto::TaskState> states;
  std::string failure;
  proto::TaskMetrics last_metrics;
  Task::StateListener Listener() {
    return [this](const proto::TaskId&, proto::TaskState s, const std::string& f, const proto::TaskMetrics& m) {
      std::lock_guard<std::mutex> lock(mu);
      states.push_back(s);
      if (!f.empty()) failure = f;
      last_metrics = m;
    };
  }
};

proto::DeployTaskRequest Deploy(proto::Vertex vertex) {
  proto::DeployTaskRequest r;
  r.mutable_task()->set_job_id("job");
  r.mutable_task()->set_vertex_id(vertex.id());
  r.mutable_task()->set_attempt(1);
  *r.mutable_vertex() = std::move(vertex);
  return r;
}

TEST(TaskTest, RunsABoundedChainToFinishedAndCountsRows) {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-task-" + std::to_string(getpid()));
  Recorder rec;
  auto task = Task::Create(Deploy(Chain({Op("gen", "datagen", {{"events", "1000"}}),
                                  Op("odd", "calc", {{"where", "id % 2 = 1"}}),
                                  Op("out", "file-sink", {{"path", dir.string()}})})),
                           OperatorRegistry::Builtin(), nullptr, rec.Listener(),
                           MakeLogger("task-test", spdlog::level::warn));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  (*task)->Start();
  (*task)->Join();
  EXPECT_EQ(rec.states, (std::vector<proto::TaskState>{proto::TASK_RUNNING, proto::TASK_FINISHED}));
  EXPECT_EQ(rec.last_metrics.records_in(), 1000);
  EXPECT_EQ(rec.last_metrics.records_out(), 500);
  std::ifstream in(dir / "part-0.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 500);
  std::filesystem::remove_all(dir);
}

TEST(TaskTest, CancelStopsAnUnboundedSourceQuickly) {
  Recorder rec;
  auto task = Task::Create(Deploy(Chain({Op("gen", "datagen"), Op("out", "blackhole")})),
                           OperatorRegistry::Builtin(), nullptr, rec.Listener(),
                           MakeLogger("task-test", spdlog::level::warn));
  ASSERT_TRUE(task.ok());
  (*task)->Start();
  while ((*task)->Metrics().records_in() == 0) std::this_thread::yield();
  EXPECT_EQ((*task)->state(), proto::TASK_RUNNING);
  auto start = std::chrono::steady_clock::now();
  (*task)->Cancel();
  (*task)->Join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(rec.states.back(), proto::TASK_CANCELED);
  EXPECT_GT(rec.last_metrics.records_in(), 0);
}

TEST(TaskTest, ASinkThatCannotOpenFailsTheTaskWithTheReason) {
  Recorder rec;
  auto task = Task::Create(Deploy(Chain({Op("gen", "datagen", {{"events", "10"}}),
                                  Op("out", "file-sink", {{"path", "/proc/no-such-place/out"}})})),
                           OperatorRegistry::Builtin(), nullptr, rec.Listener(),
                           MakeLogger("task-test", spdlog::level::off));
  ASSERT_TRUE(task.ok());
  (*task)->Start();
  (*task)->Join();
  EXPECT_EQ(rec.states.back(), proto::TASK_FAILED);
  EXPECT_THAT(rec.failure, HasSubstr("/proc/no-such-place/out"));
}

TEST(TaskTest, AChainWithoutASourceIsRefusedBeforeStarting) {
  proto::Vertex v;
  v.set_id("x");
  v.set_parallelism(1);
  *v.add_operators() = Op("c", "calc");
  *v.add_operators() = Op("out", "blackhole");
  auto task = Task::Create(Deploy(v), OperatorRegistry::Builtin(), nullptr, nullptr,
                           MakeLogger("task-test", spdlog::level::off));
  ASSERT_FALSE(task.ok());
  EXPECT_THAT(task.status().message(), HasSubstr("'calc' is not a source and the vertex has no inputs"));
}

}  // namespace
}  // namespace sluice
