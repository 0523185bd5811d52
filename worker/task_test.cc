#include "worker/task.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <mutex>
#include <unistd.h>

#include "common/catalog/graph_schema.h"
#include "worker/network/data_plane.h"

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

TEST(TaskTest, AFailedTaskPublishesNoneOfTheRowsItWrote) {
  auto base = std::filesystem::temp_directory_path() / ("sluice-task-failed-" + std::to_string(getpid()));
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base / "in");
  {
    std::ofstream csv(base / "in" / "rows.csv");
    for (int i = 1; i <= 23; ++i) csv << i << "\n";
    csv << "line twenty-four\n";
  }
  Recorder rec;
  auto task = Task::Create(Deploy(Chain({Op("rows", "file-source", {{"path", (base / "in").string()},
                                                                    {"columns", "n BIGINT"}}),
                                         Op("out", "file-sink", {{"path", (base / "out").string()}})})),
                           OperatorRegistry::Builtin(), nullptr, rec.Listener(),
                           MakeLogger("task-test", spdlog::level::off));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  (*task)->Start();
  (*task)->Join();
  ASSERT_EQ(rec.states.back(), proto::TASK_FAILED);
  EXPECT_THAT(rec.failure, HasSubstr("rows.csv"));
  // The 23 good rows were written, staged, and are discarded with the attempt.
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(base / "out")) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(left, ::testing::IsEmpty());
  std::filesystem::remove_all(base);
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
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
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

// Passes rows on and records what it sees, for the watermark test.
struct WatermarkLog {
  std::mutex mu;
  std::vector<int64_t> watermarks;
  std::vector<int64_t> row_times;
};

class RecordingOperator final : public Operator {
 public:
  explicit RecordingOperator(WatermarkLog* log) : log_(log) {}
  void Process(const RowView& row, Collector& out) override {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->row_times.push_back(row.GetTimestampMillis(4));
    out.Collect(row);
  }
  void ProcessWatermark(int64_t watermark, Collector& out) override {
    {
      std::lock_guard<std::mutex> lock(log_->mu);
      log_->watermarks.push_back(watermark);
    }
    out.EmitWatermark(watermark);
  }

 private:
  WatermarkLog* log_;
};

TEST(TaskTest, SourcesEmitPeriodicWatermarksAndTheMaximumAtTheEnd) {
  WatermarkLog log;
  OperatorRegistry registry = OperatorRegistry::Builtin();
  registry.AddOperator("record", [&log](const OperatorSetup&) -> Result<std::unique_ptr<Operator>> {
    return std::unique_ptr<Operator>(new RecordingOperator(&log));
  });
  proto::Vertex v = Chain({Op("gen", "datagen", {{"events", "3000"}, {"rate", "10000"}}), Op("out", "blackhole")});
  // Put the recorder between source and sink; it keeps the schema.
  proto::OperatorSpec rec = Op("rec", "record");
  *rec.mutable_output_schema() = v.operators(0).output_schema();
  *v.mutable_operators()->Add() = v.operators(1);
  *v.mutable_operators(1) = rec;
  proto::DeployTaskRequest request = Deploy(v);
  (*request.mutable_job_config())["pipeline.auto-watermark-interval"] = "50ms";
  Recorder rec_states;
  auto task = Task::Create(request, registry, nullptr, rec_states.Listener(), MakeLogger("task-test", spdlog::level::warn));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  (*task)->Start();
  (*task)->Join();
  ASSERT_EQ(rec_states.states.back(), proto::TASK_FINISHED) << rec_states.failure;
  ASSERT_EQ(log.row_times.size(), 3000u);
  ASSERT_GE(log.watermarks.size(), 3u) << "a 300 ms run with a 50 ms interval";
  EXPECT_EQ(log.watermarks.back(), INT64_MAX);
  for (size_t i = 1; i < log.watermarks.size(); ++i) EXPECT_GT(log.watermarks[i], log.watermarks[i - 1]);
  // Each periodic watermark is the time of a row already seen.
  for (size_t i = 0; i + 1 < log.watermarks.size(); ++i) {
    EXPECT_NE(std::find(log.row_times.begin(), log.row_times.end(), log.watermarks[i]), log.row_times.end());
  }
}

// A reader that could take but never does: the stall the watchdog exists
// for, provoked on purpose.
class NeverReadingConsumer final : public SubpartitionListener {
 public:
  void OnDataAvailable() override {}
  std::string Describe() const override { return "a consumer that never reads"; }
};

TEST(TaskTest, AProducerWhoseReaderStallsFailsWithTheChannelStateInsteadOfHanging) {
  DataPlaneOptions network;
  network.buffer_size = 1024;
  network.memory_bytes = 64 * 1024;
  auto plane = DataPlane::Start({"127.0.0.1", 0}, network, MakeLogger("task-test", spdlog::level::off));
  ASSERT_TRUE(plane.ok()) << plane.status().ToString();
  proto::DeployTaskRequest request = Deploy(Chain({Op("gen", "datagen")}));
  (*request.mutable_job_config())["task.stall-timeout"] = "1s";
  auto* out = request.add_outputs();
  out->set_consumer_vertex("sink");
  out->set_partitioning(proto::FORWARD);
  out->set_num_subpartitions(1);
  Recorder rec;
  auto task = Task::Create(request, OperatorRegistry::Builtin(), plane->get(), rec.Listener(),
                           MakeLogger("task-test", spdlog::level::off));
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  NeverReadingConsumer consumer;
  std::shared_ptr<ResultPartition> partition;
  (*plane)->partitions().Request({"job", 1, "gen", 0, 0}, [&](Result<std::shared_ptr<ResultPartition>> p) {
    ASSERT_TRUE(p.ok());
    partition = *p;
    ASSERT_TRUE(partition->subpartition(0).SetListener(&consumer).ok());
  });
  ASSERT_NE(partition, nullptr) << "the task registers its partition when it is created";
  (*task)->Start();
  (*task)->Join();  // without the watchdog: for ever, blocked on a full output
  ASSERT_FALSE(rec.states.empty());
  EXPECT_EQ(rec.states.back(), proto::TASK_FAILED);
  EXPECT_THAT(rec.failure, HasSubstr("task.stall-timeout"));
  EXPECT_THAT(rec.failure, HasSubstr("read by a consumer that never reads"));
  partition->subpartition(0).DetachListener();
  (*plane)->partitions().ReleaseAll(Status::Cancelled("test over"));
}

}  // namespace
}  // namespace sluice
