#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "common/records/row_json.h"
#include "worker/operators/operator_registry.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

// Keeps every row it sees as JSON.
class JsonCollector final : public Collector {
 public:
  explicit JsonCollector(Schema schema) : schema_(std::move(schema)) {}
  void Collect(const RowView& row) override {
    std::string line;
    AppendRowJson(row, schema_, &line);
    rows.push_back(line);
  }
  std::vector<std::string> rows;

 private:
  Schema schema_;
};

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

TEST(FileSinkTest, AnUnwritableDirectoryIsAClearError) {
  auto registry = OperatorRegistry::Builtin();
  auto sink = registry.CreateOperator(MakeSetup("file-sink", {{"path", {"/proc/sluice/out"}}}, DatagenSchema(), {}));
  ASSERT_TRUE(sink.ok());
  Status s = (*sink)->Open();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr("/proc/sluice/out"));
}

}  // namespace
}  // namespace sluice
