#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "worker/operators/testing/json_collector.h"
#include "common/catalog/datagen_spec.h"
#include "worker/operators/operator_registry.h"
#include "worker/operators/window_aggregate.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

OperatorSetup MakeSetup(std::string type, OperatorOptions::Map options, Schema input, Schema output,
                    int subtask = 0, int parallelism = 1) {
  OperatorSetup s;
  s.id = type;
  s.type = type;
  s.options = OperatorOptions(type, std::move(options));
  s.input = std::move(input);
  s.output = std::move(output);
  s.subtask = subtask;
  s.parallelism = parallelism;
  return s;
}

std::vector<std::string> Drain(SourceOperator& source, const Schema& schema) {
  JsonCollector out(schema);
  EXPECT_TRUE(source.Open().ok());
  bool done = false;
  while (!done) EXPECT_TRUE(source.Emit(out, 7, &done).ok());
  return out.rows;
}

TEST(OperatorRegistryTest, EveryCatalogTypeHasARuntime) {
  auto registry = OperatorRegistry::Builtin();
  for (const auto& type : OperatorCatalog::Builtin().Types()) EXPECT_TRUE(registry.Has(type)) << type;
}

TEST(DatagenTest, RowsFollowTheDocumentedFormulas) {
  auto registry = OperatorRegistry::Builtin();
  auto source = registry.CreateSource(MakeSetup("datagen", {{"events", {"3"}}, {"keys", {"2"}}}, {}, DatagenSchema()));
  ASSERT_TRUE(source.ok());
  auto rows = Drain(**source, DatagenSchema());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], R"({"id":0,"key":0,"value":0,"name":"name-0","ts":"2015-07-15 00:00:00.000"})");
  EXPECT_EQ(rows[2], R"({"id":2,"key":0,"value":838,"name":"name-0","ts":"2015-07-15 00:00:00.002"})");
}

TEST(DatagenTest, SubtasksSplitTheIdsWithoutOverlap) {
  auto registry = OperatorRegistry::Builtin();
  std::set<std::string> all;
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    auto source = registry.CreateSource(MakeSetup("datagen", {{"events", {"100"}}}, {}, DatagenSchema(), i, 3));
    auto rows = Drain(**source, DatagenSchema());
    total += rows.size();
    all.insert(rows.begin(), rows.end());
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(all.size(), 100u);
}

TEST(CalcTest, FiltersAndProjects) {
  auto registry = OperatorRegistry::Builtin();
  Schema out({{"id", FieldType::kInt64, false, 0}, {"twice", FieldType::kInt64, false, 0}});
  auto calc = registry.CreateOperator(MakeSetup(
      "calc", {{"where", {"id % 2 = 1"}}, {"select", {"id", "value * 2 AS twice"}}}, DatagenSchema(), out));
  ASSERT_TRUE(calc.ok()) << calc.status().ToString();
  JsonCollector sink(out);
  auto source = registry.CreateSource(MakeSetup("datagen", {{"events", {"4"}}}, {}, DatagenSchema()));
  ASSERT_TRUE((*source)->Open().ok());
  class Forward final : public Collector {
   public:
    Forward(Operator* op, Collector* out) : op_(op), out_(out) {}
    void Collect(const RowView& row) override { op_->Process(row, *out_); }
    Operator* op_;
    Collector* out_;
  } forward(calc->get(), &sink);
  bool done = false;
  while (!done) ASSERT_TRUE((*source)->Emit(forward, 100, &done).ok());
  EXPECT_EQ(sink.rows, (std::vector<std::string>{R"({"id":1,"twice":1838})", R"({"id":3,"twice":1514})"}));
}

TEST(FileSinkTest, WritesOneJsonLinesFilePerSubtask) {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-sink-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto registry = OperatorRegistry::Builtin();
  auto sink = registry.CreateOperator(MakeSetup("file-sink", {{"path", {dir.string()}}}, DatagenSchema(), {}, 1, 2));
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Open().ok());
  auto source = registry.CreateSource(MakeSetup("datagen", {{"events", {"2"}}}, {}, DatagenSchema()));
  ASSERT_TRUE((*source)->Open().ok());
  class Into final : public Collector {
   public:
    explicit Into(Operator* op) : op_(op) {}
    void Collect(const RowView& row) override { op_->Process(row, *this); }
    Operator* op_;
  } into(sink->get());
  bool done = false;
  while (!done) ASSERT_TRUE((*source)->Emit(into, 100, &done).ok());
  ASSERT_TRUE((*sink)->Finish(into).ok());
  std::ifstream in(dir / "part-1.jsonl");
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr(R"("id":1,)"));
  std::filesystem::remove_all(dir);
}

TEST(FileSinkTest, EachSubtaskReplacesOnlyItsOwnFilesOfAnEarlierRun) {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-sink-replace-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "dt=x");
  // An earlier run at parallelism 3, one of its files in a partition.
  for (const char* name : {"part-0.jsonl", "part-1-4.jsonl", "dt=x/part-2-end.jsonl", ".part-1-a2.inprogress"}) {
    std::ofstream(dir / name) << "{\"stale\":true}\n";
  }
  std::ofstream(dir / "README") << "not a part file\n";
  auto registry = OperatorRegistry::Builtin();
  auto names = [&] {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) out.insert(std::filesystem::relative(e.path(), dir).string());
    }
    return out;
  };
  // Subtask 1 of 2 takes only part-1 files...
  auto one = registry.CreateOperator(MakeSetup("file-sink", {{"path", {dir.string()}}}, DatagenSchema(), {}, 1, 2));
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE((*one)->Open().ok());
  EXPECT_EQ(names(), (std::set<std::string>{"README", "part-0.jsonl", "dt=x/part-2-end.jsonl", ".part-1-a1.inprogress"}));
  // ...subtask 0 its own and those of subtasks beyond the parallelism.
  auto zero = registry.CreateOperator(MakeSetup("file-sink", {{"path", {dir.string()}}}, DatagenSchema(), {}, 0, 2));
  ASSERT_TRUE(zero.ok());
  ASSERT_TRUE((*zero)->Open().ok());
  EXPECT_EQ(names(), (std::set<std::string>{"README", ".part-0-a1.inprogress", ".part-1-a1.inprogress"}));
  std::filesystem::remove_all(dir);
}

TEST(FileSinkTest, AnUnwritableDirectoryIsAClearError) {
  auto registry = OperatorRegistry::Builtin();
  auto sink = registry.CreateOperator(MakeSetup("file-sink", {{"path", {"/proc/sluice/out"}}}, DatagenSchema(), {}));
  ASSERT_TRUE(sink.ok());
  Status s = (*sink)->Open();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr("/proc/sluice/out"));
}

// Rows (id, key, value, name, ts) of datagen's schema, one at a time.
RowView DatagenRow(RowBuilder& b, int64_t id, int64_t key, int64_t value, int64_t ts) {
  b.Reset();
  b.SetInt64(0, id);
  b.SetInt64(1, key);
  b.SetInt64(2, value);
  b.SetString(3, "n");
  b.SetTimestampMillis(4, ts);
  return b.Finish();
}

class CollectJson final : public Collector {
 public:
  explicit CollectJson(Schema schema) : schema_(std::move(schema)) {}
  void Collect(const RowView& row) override {
    std::string line;
    AppendRowJson(row, schema_, &line);
    rows.insert(line);
  }
  void EmitWatermark(int64_t w) override { watermarks.push_back(w); }
  std::set<std::string> rows;
  std::vector<int64_t> watermarks;

 private:
  Schema schema_;
};

Result<std::unique_ptr<Operator>> MakeWindow(OperatorOptions::Map options, Schema* output) {
  auto catalog = OperatorCatalog::Builtin();
  auto schema = catalog.Resolve("window-aggregate", {DatagenSchema()}, OperatorOptions("w", options));
  if (!schema.ok()) return schema.status();
  *output = *schema;
  return OperatorRegistry::Builtin().CreateOperator(MakeSetup("window-aggregate", options, DatagenSchema(), *schema));
}

TEST(WindowAggregateTest, TumblingWindowsFireOnTheWatermarkAndDropLateRows) {
  Schema out;
  auto op = MakeWindow({{"time", {"ts"}}, {"size", {"10ms"}}, {"key", {"key"}},
                        {"aggregates", {"count(*) AS n", "sum(value) AS total", "min(value) AS lo", "max(value) AS hi",
                                        "avg(value) AS mean"}}},
                       &out);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(out.ToString(), "(key INT64 NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, "
                            "n INT64 NOT NULL, total INT64, lo INT64, hi INT64, mean INT64)");
  CollectJson sink(out);
  RowBuilder b(5);
  (*op)->Process(DatagenRow(b, 0, 1, 5, 0), sink);
  (*op)->Process(DatagenRow(b, 1, 1, 7, 9), sink);
  (*op)->Process(DatagenRow(b, 2, 2, 4, 3), sink);
  (*op)->Process(DatagenRow(b, 3, 1, 1, 10), sink);  // next window
  (*op)->ProcessWatermark(8, sink);
  EXPECT_TRUE(sink.rows.empty()) << "[0, 10) ends at 9";
  (*op)->ProcessWatermark(9, sink);
  EXPECT_EQ(sink.rows, (std::set<std::string>{
                           R"({"key":1,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.010","n":2,"total":12,"lo":5,"hi":7,"mean":6})",
                           R"({"key":2,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.010","n":1,"total":4,"lo":4,"hi":4,"mean":4})"}));
  (*op)->Process(DatagenRow(b, 4, 1, 100, 5), sink);  // late: [0, 10) has fired
  auto* window = static_cast<WindowAggregateOperator*>(op->get());
  EXPECT_EQ(window->late_rows(), 1);
  sink.rows.clear();
  (*op)->ProcessWatermark(INT64_MAX, sink);
  EXPECT_EQ(sink.rows.size(), 1u);
  EXPECT_NE(sink.rows.begin()->find(R"("n":1,"total":1)"), std::string::npos) << *sink.rows.begin();
  EXPECT_EQ(window->state_entries(), 0u) << "fired windows leave no state";
  EXPECT_EQ(sink.watermarks, (std::vector<int64_t>{8, 9, INT64_MAX}));
}

TEST(WindowAggregateTest, SlidingWindowsCountARowInEveryWindowItFallsIn) {
  Schema out;
  auto op = MakeWindow({{"time", {"ts"}}, {"size", {"10ms"}}, {"slide", {"5ms"}}, {"aggregates", {"count(*) AS n"}}},
                       &out);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  CollectJson sink(out);
  RowBuilder b(5);
  for (int64_t t : {0, 4, 5, 12}) (*op)->Process(DatagenRow(b, t, 0, 0, t), sink);
  (*op)->ProcessWatermark(INT64_MAX, sink);
  // [-5,5): 0,4  [0,10): 0,4,5  [5,15): 5,12  [10,20): 12
  EXPECT_EQ(sink.rows.size(), 4u);
  EXPECT_TRUE(sink.rows.count(R"({"window_start":"1969-12-31 23:59:59.995","window_end":"1970-01-01 00:00:00.005","n":2})"));
  EXPECT_TRUE(sink.rows.count(R"({"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.010","n":3})"));
  EXPECT_TRUE(sink.rows.count(R"({"window_start":"1970-01-01 00:00:00.005","window_end":"1970-01-01 00:00:00.015","n":2})"));
  EXPECT_TRUE(sink.rows.count(R"({"window_start":"1970-01-01 00:00:00.010","window_end":"1970-01-01 00:00:00.020","n":1})"));
}

TEST(WindowAggregateTest, SessionWindowsGrowAndMergePerKey) {
  Schema out;
  auto op = MakeWindow({{"time", {"ts"}}, {"gap", {"10ms"}}, {"key", {"key"}},
                        {"aggregates", {"count(*) AS n", "max(value) AS hi"}}},
                       &out);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  CollectJson sink(out);
  RowBuilder b(5);
  (*op)->Process(DatagenRow(b, 0, 1, 3, 0), sink);
  (*op)->Process(DatagenRow(b, 1, 1, 9, 5), sink);    // extends key 1's session to [0, 15)
  (*op)->Process(DatagenRow(b, 2, 1, 1, 30), sink);   // a new one: [30, 40)
  (*op)->Process(DatagenRow(b, 3, 2, 4, 0), sink);    // key 2: [0, 10)
  (*op)->Process(DatagenRow(b, 4, 2, 5, 15), sink);   // key 2: [15, 25)
  (*op)->Process(DatagenRow(b, 5, 2, 6, 9), sink);    // [9, 19) bridges key 2's two into [0, 25)
  (*op)->ProcessWatermark(14, sink);
  EXPECT_EQ(sink.rows, (std::set<std::string>{
                           R"({"key":1,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.015","n":2,"hi":9})"}));
  (*op)->Process(DatagenRow(b, 6, 1, 7, 3), sink);  // late for the fired session
  (*op)->ProcessWatermark(INT64_MAX, sink);
  EXPECT_EQ(sink.rows.size(), 3u);
  EXPECT_TRUE(sink.rows.count(R"({"key":1,"window_start":"1970-01-01 00:00:00.030","window_end":"1970-01-01 00:00:00.040","n":1,"hi":1})"));
  EXPECT_TRUE(sink.rows.count(R"({"key":2,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.025","n":3,"hi":6})"));
  auto* window = static_cast<WindowAggregateOperator*>(op->get());
  EXPECT_EQ(window->late_rows(), 1);
  EXPECT_EQ(window->state_entries(), 0u);
}

TEST(WindowAggregateTest, SessionsMergeWhenRowsAreExactlyTheGapApart) {
  Schema out;
  auto op = MakeWindow({{"time", {"ts"}}, {"gap", {"10ms"}}, {"key", {"key"}}, {"aggregates", {"count(*) AS n"}}},
                       &out);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  CollectJson sink(out);
  RowBuilder b(5);
  (*op)->Process(DatagenRow(b, 0, 1, 0, 0), sink);    // key 1: [0, 10)
  (*op)->Process(DatagenRow(b, 1, 1, 0, 10), sink);   // at its end: [0, 20)
  (*op)->Process(DatagenRow(b, 2, 1, 0, 21), sink);   // 11 ms after: a new one, [21, 31)
  (*op)->Process(DatagenRow(b, 3, 2, 0, 10), sink);   // key 2: [10, 20)
  (*op)->Process(DatagenRow(b, 4, 2, 0, 0), sink);    // [0, 10) touches it from before: [0, 20)
  (*op)->ProcessWatermark(INT64_MAX, sink);
  EXPECT_EQ(sink.rows, (std::set<std::string>{
                           R"({"key":1,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.020","n":2})",
                           R"({"key":1,"window_start":"1970-01-01 00:00:00.021","window_end":"1970-01-01 00:00:00.031","n":1})",
                           R"({"key":2,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.020","n":2})"}));
}

TEST(WindowAggregateTest, ProcessingTimeWindowsFireOnTheClockAndAtTheEnd) {
  Schema out;
  auto op = MakeWindow({{"processing-time", {"true"}}, {"size", {"1s"}}, {"aggregates", {"count(*) AS n"}}}, &out);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  CollectJson sink(out);
  RowBuilder b(5);
  for (int i = 0; i < 5; ++i) (*op)->Process(DatagenRow(b, i, 0, 0, 0), sink);
  (*op)->ProcessWatermark(1000, sink);  // event time means nothing here
  EXPECT_TRUE(sink.rows.empty());
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  (*op)->OnProcessingTime(now + 2000, sink);  // the clock passes the window
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_NE(sink.rows.begin()->find(R"("n":5)"), std::string::npos);
  (*op)->Process(DatagenRow(b, 5, 0, 0, 0), sink);
  (*op)->ProcessWatermark(INT64_MAX, sink);  // end of input fires the rest
  EXPECT_EQ(sink.rows.size(), 2u);
}

TEST(WindowAggregateTest, BadOptionsAreErrors) {
  Schema out;
  EXPECT_THAT(MakeWindow({{"time", {"id"}}, {"size", {"1s"}}, {"aggregates", {"count(*) AS n"}}}, &out).status().message(),
              HasSubstr("must be a TIMESTAMP field"));
  EXPECT_THAT(MakeWindow({{"time", {"ts"}}, {"size", {"10s"}}, {"slide", {"3s"}}, {"aggregates", {"count(*) AS n"}}}, &out)
                  .status().message(),
              HasSubstr("multiple of slide"));
  EXPECT_THAT(MakeWindow({{"time", {"ts"}}, {"size", {"1s"}}, {"aggregates", {"median(value) AS m"}}}, &out)
                  .status().message(),
              HasSubstr("unknown function 'median'"));
  EXPECT_THAT(MakeWindow({{"time", {"ts"}}, {"size", {"1s"}}, {"aggregates", {"sum(name) AS s"}}}, &out)
                  .status().message(),
              HasSubstr("sum of STRING is not supported"));
}

TEST(WindowMaxTest, KeepsTheRowsAtEachWindowsMaximumTiesIncluded) {
  Schema in({{"auction", FieldType::kInt64, false, 0},
             {"window_start", FieldType::kTimestamp, false, 0},
             {"window_end", FieldType::kTimestamp, false, 0},
             {"num", FieldType::kInt64, false, 0}});
  auto op = OperatorRegistry::Builtin().CreateOperator(MakeSetup("window-max", {{"field", {"num"}}}, in, in));
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  CollectJson sink(in);
  RowBuilder b(4);
  auto row = [&](int64_t auction, int64_t start, int64_t num) {
    b.Reset();
    b.SetInt64(0, auction);
    b.SetTimestampMillis(1, start);
    b.SetTimestampMillis(2, start + 10);
    b.SetInt64(3, num);
    return b.Finish();
  };
  (*op)->Process(row(1, 0, 3), sink);
  (*op)->Process(row(2, 0, 5), sink);
  (*op)->Process(row(3, 0, 5), sink);
  (*op)->Process(row(4, 10, 9), sink);
  (*op)->ProcessWatermark(9, sink);
  EXPECT_EQ(sink.rows.size(), 2u);
  EXPECT_TRUE(sink.rows.count(R"({"auction":2,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.010","num":5})"));
  EXPECT_TRUE(sink.rows.count(R"({"auction":3,"window_start":"1970-01-01 00:00:00.000","window_end":"1970-01-01 00:00:00.010","num":5})"));
  (*op)->Process(row(5, 0, 99), sink);  // late for the fired window: dropped
  (*op)->ProcessWatermark(INT64_MAX, sink);
  EXPECT_EQ(sink.rows.size(), 3u);
  EXPECT_TRUE(sink.rows.count(R"({"auction":4,"window_start":"1970-01-01 00:00:00.010","window_end":"1970-01-01 00:00:00.020","num":9})"));
}

}  // namespace
}  // namespace sluice
