// group-aggregate (changelog output, DISTINCT, FILTER, retraction) on both
// state backends, and FILTER and DISTINCT in window-aggregate.
#include "worker/operators/group_aggregate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <unistd.h>

#include "worker/operators/testing/json_collector.h"

#include "common/records/row_json.h"
#include "common/catalog/datagen_spec.h"
#include "worker/operators/operator_registry.h"
#include "worker/operators/window_aggregate.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Rows = std::vector<std::string>;

// Every row as JSON, in order, and the watermarks passed on.
using Recorder = JsonCollector;

// (k INT64, v INT64, s STRING), or a changelog (op STRING, k, v, s).
Schema InputSchema(bool changelog) {
  Schema s;
  if (changelog) s.Add({"op", FieldType::kString, false, 0});
  s.Add({"k", FieldType::kInt64, false, 0});
  s.Add({"v", FieldType::kInt64, true, 0});
  s.Add({"s", FieldType::kString, false, 0});
  return s;
}

class Input {
 public:
  explicit Input(bool changelog) : changelog_(changelog), builder_(changelog ? 4 : 3) {}
  RowView Row(int64_t k, std::optional<int64_t> v, std::string_view s = "x", std::string_view op = "+I") {
    builder_.Reset();
    size_t f = 0;
    if (changelog_) builder_.SetString(f++, op);
    builder_.SetInt64(f++, k);
    if (v) builder_.SetInt64(f, *v);
    ++f;
    builder_.SetString(f, s);
    return builder_.Finish();
  }

 private:
  bool changelog_;
  RowBuilder builder_;
};

// Runs on the backend named by the test parameter.
class GroupAggregateTest : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    op_.reset();
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir);
  }

  OperatorSetup Setup(const std::string& type, OperatorOptions::Map options, const Schema& input) {
    OperatorSetup setup;
    setup.id = "agg";
    setup.type = type;
    setup.options = OperatorOptions("agg", std::move(options));
    setup.input = input;
    if (GetParam() == "rocksdb") {
      std::string dir = (std::filesystem::temp_directory_path() /
                         ("sluice-group-agg-" + std::to_string(getpid()) + "-" + std::to_string(dirs_.size())))
                            .string();
      dirs_.push_back(dir);
      setup.open_state = [dir]() { return OpenStateBackend({"rocksdb", dir}); };
    }
    return setup;
  }

  // Resolves the output schema through the catalog, as a job would, and
  // creates the operator into op_.
  Status Make(OperatorOptions::Map options, const Schema& input, const std::string& type = "group-aggregate") {
    auto schema = OperatorCatalog::Builtin().Resolve(type, {input}, OperatorOptions("agg", options));
    if (!schema.ok()) return schema.status();
    output_ = *schema;
    OperatorSetup setup = Setup(type, std::move(options), input);
    setup.output = output_;
    auto op = OperatorRegistry::Builtin().CreateOperator(setup);
    if (!op.ok()) return op.status();
    op_ = std::move(*op);
    sink_ = std::make_unique<Recorder>(output_);
    return Status::Ok();
  }

  uint64_t StateEntries() {
    if (auto* g = dynamic_cast<GroupAggregateOperator*>(op_.get())) return g->state_entries();
    return static_cast<WindowAggregateOperator*>(op_.get())->state_entries();
  }

  void Process(const RowView& row) { op_->Process(row, *sink_); }
  Rows Flush() {
    op_->ProcessWatermark(0, *sink_);
    return sink_->Take();
  }

  std::unique_ptr<Operator> op_;
  Schema output_;
  std::unique_ptr<Recorder> sink_;
  std::vector<std::string> dirs_;
};

INSTANTIATE_TEST_SUITE_P(Backends, GroupAggregateTest, ::testing::Values("memory", "rocksdb"));

TEST_P(GroupAggregateTest, InsertsThenRetractsAndUpdatesChangedKeys) {
  ASSERT_TRUE(Make({{"key", {"k"}},
                    {"aggregates",
                     {"count(*) AS n", "sum(v) AS total", "min(v) AS lo", "max(v) AS hi", "avg(v) AS mean"}}},
                   InputSchema(false))
                  .ok());
  EXPECT_EQ(output_.ToString(), "(op STRING NOT NULL, k INT64 NOT NULL, n INT64 NOT NULL, total INT64, lo INT64, "
                                "hi INT64, mean INT64)");
  Input in(false);
  Process(in.Row(1, 5));
  Process(in.Row(1, 7));
  Process(in.Row(2, 4));
  EXPECT_TRUE(sink_->rows.empty()) << "rows wait in the buffer";
  Rows rows = Flush();
  EXPECT_THAT(std::set<std::string>(rows.begin(), rows.end()),
              (std::set<std::string>{R"({"op":"+I","k":1,"n":2,"total":12,"lo":5,"hi":7,"mean":6})",
                                     R"({"op":"+I","k":2,"n":1,"total":4,"lo":4,"hi":4,"mean":4})"}));
  EXPECT_EQ(sink_->watermarks, std::vector<int64_t>{0}) << "the flush comes before the watermark";
  Process(in.Row(1, 1));
  Process(in.Row(1, std::nullopt));  // counted by count(*) only
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-U","k":1,"n":2,"total":12,"lo":5,"hi":7,"mean":6})",
                                   R"({"op":"+U","k":1,"n":4,"total":13,"lo":1,"hi":7,"mean":4})"));
  Process(in.Row(2, 9));
  ASSERT_TRUE(op_->Finish(*sink_).ok());
  EXPECT_THAT(sink_->Take(), ElementsAre(R"({"op":"-U","k":2,"n":1,"total":4,"lo":4,"hi":4,"mean":4})",
                                         R"({"op":"+U","k":2,"n":2,"total":13,"lo":4,"hi":9,"mean":6})"));
}

TEST_P(GroupAggregateTest, AnUnchangedResultEmitsNothing) {
  ASSERT_TRUE(Make({{"key", {"k"}}, {"aggregates", {"max(v) AS hi", "count(DISTINCT s) AS names"}}},
                   InputSchema(false))
                  .ok());
  Input in(false);
  Process(in.Row(1, 9, "a"));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","k":1,"hi":9,"names":1})"));
  Process(in.Row(1, 3, "a"));
  Process(in.Row(1, 9, "a"));
  EXPECT_TRUE(Flush().empty());
  Process(in.Row(1, 3, "b"));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-U","k":1,"hi":9,"names":1})", R"({"op":"+U","k":1,"hi":9,"names":2})"));
}

TEST_P(GroupAggregateTest, FiltersAndDistinctCountsAsInNexmarkQ15) {
  ASSERT_TRUE(Make({{"aggregates",
                     {"count(*) AS total", "count(*) FILTER (WHERE v < 10) AS low",
                      "count(DISTINCT s) AS names", "count(DISTINCT s) FILTER (WHERE v < 10) AS low_names",
                      "count(DISTINCT s) FILTER (WHERE v >= 10 AND v < 100) AS mid_names",
                      "count(v) FILTER (WHERE s <> 'c') AS not_c", "count(DISTINCT k) AS keys", "min(s)", "max(s)"}}},
                   InputSchema(false))
                  .ok());
  EXPECT_EQ(output_.ToString(), "(op STRING NOT NULL, total INT64 NOT NULL, low INT64 NOT NULL, names INT64 NOT NULL, "
                                "low_names INT64 NOT NULL, mid_names INT64 NOT NULL, not_c INT64 NOT NULL, "
                                "keys INT64 NOT NULL, min_s STRING, max_s STRING)");
  Input in(false);
  Process(in.Row(1, 5, "b"));
  Process(in.Row(2, 5, "b"));
  Process(in.Row(3, 50, "b"));
  Process(in.Row(3, 500, "c"));
  Process(in.Row(3, std::nullopt, "a"));  // NULL < 10 is not TRUE
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","total":5,"low":2,"names":3,"low_names":1,"mid_names":1,"not_c":3,"keys":3,"min_s":"a","max_s":"c"})"));
  Process(in.Row(4, 50, "c"));  // c is new to mid_names only
  Process(in.Row(4, 1, "b"));   // b was seen by every one of them
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-U","total":5,"low":2,"names":3,"low_names":1,"mid_names":1,"not_c":3,"keys":3,"min_s":"a","max_s":"c"})",
                                   R"({"op":"+U","total":7,"low":3,"names":3,"low_names":1,"mid_names":2,"not_c":4,"keys":4,"min_s":"a","max_s":"c"})"));
}

TEST_P(GroupAggregateTest, AChangelogRetractsAndADrainedKeyIsDeleted) {
  ASSERT_TRUE(Make({{"key", {"k"}},
                    {"aggregates", {"count(*) AS n", "sum(v) AS total", "min(v) AS lo", "max(v) AS hi",
                                    "count(DISTINCT s) AS names", "max(s) AS last_name"}}},
                   InputSchema(true))
                  .ok());
  EXPECT_EQ(output_.ToString(), "(op STRING NOT NULL, k INT64 NOT NULL, n INT64 NOT NULL, total INT64, lo INT64, "
                                "hi INT64, names INT64 NOT NULL, last_name STRING)");
  Input in(true);
  Process(in.Row(1, 5, "a"));
  Process(in.Row(1, 3, "b"));
  Process(in.Row(1, 9, "b"));
  Process(in.Row(1, 3, "c"));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","k":1,"n":4,"total":20,"lo":3,"hi":9,"names":3,"last_name":"c"})"));
  Process(in.Row(1, 3, "c", "-D"));  // one of two 3s goes: min stays 3; c goes
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-U","k":1,"n":4,"total":20,"lo":3,"hi":9,"names":3,"last_name":"c"})",
                                   R"({"op":"+U","k":1,"n":3,"total":17,"lo":3,"hi":9,"names":2,"last_name":"b"})"));
  Process(in.Row(1, 3, "b", "-U"));  // the other 3: the min is found again
  Process(in.Row(1, 4, "b", "+U"));
  Process(in.Row(1, 9, "b", "-D"));  // and the max
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-U","k":1,"n":3,"total":17,"lo":3,"hi":9,"names":2,"last_name":"b"})",
                                   R"({"op":"+U","k":1,"n":2,"total":9,"lo":4,"hi":5,"names":2,"last_name":"b"})"));
  Process(in.Row(1, 4, "b", "-D"));
  Process(in.Row(1, 5, "a", "-D"));
  Process(in.Row(2, 1, "z", "-D"));  // retracting what was never added: ignored
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"-D","k":1,"n":2,"total":9,"lo":4,"hi":5,"names":2,"last_name":"b"})"));
  if (GetParam() == "memory") {  // RocksDB only estimates its entries
    EXPECT_EQ(StateEntries(), 0u) << "no state is left for drained keys";
  }
  Process(in.Row(1, 6, "q"));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","k":1,"n":1,"total":6,"lo":6,"hi":6,"names":1,"last_name":"q"})"));
}

TEST_P(GroupAggregateTest, ABadRowKindFailsTheOperator) {
  ASSERT_TRUE(Make({{"key", {"k"}}, {"aggregates", {"count(*) AS n"}}}, InputSchema(true)).ok());
  Input in(true);
  Process(in.Row(1, 1, "a", "+X"));
  EXPECT_THAT(op_->failure().message(), HasSubstr("'+X'"));
}

TEST_P(GroupAggregateTest, FlushingAFullBufferGivesTheSameResultAsOneFlush) {
  // The materialized changelog: +I/+U upsert by key, -U/-D delete.
  auto materialize = [](const Rows& rows) {
    std::map<std::string, std::string> table;
    for (const auto& row : rows) {
      std::string op = row.substr(7, 2);
      size_t key_end = row.find(',', row.find(",\"k\":") + 1);
      std::string key = row.substr(10, key_end - 10);
      std::string rest = row.substr(key_end);
      if (op == "+I" || op == "+U") {
        EXPECT_EQ(table.count(key), 0u) << "+I is new, +U follows its -U: " << row;
        table[key] = rest;
      } else {
        EXPECT_EQ(table[key], rest) << "-U and -D carry the last values: " << row;
        table.erase(key);
      }
    }
    return table;
  };
  std::map<std::string, std::string> results[2];
  for (int buffered : {0, 1}) {
    OperatorOptions::Map options = {
        {"key", {"k"}},
        {"aggregates", {"count(*) AS n", "sum(v) AS total", "min(v) AS lo", "max(s) AS hi", "count(DISTINCT v) AS vs",
                        "count(DISTINCT s) FILTER (WHERE v % 2 = 0) AS even_names"}}};
    if (buffered == 0) options["buffer-entries"] = {"3"};
    ASSERT_TRUE(Make(options, InputSchema(true)).ok());
    Input in(true);
    Rows all;
    for (int64_t i = 0; i < 3000; ++i) {
      int64_t k = i % 17, v = (i * 7919) % 101;
      std::string s = "s" + std::to_string(i % 13);
      Process(in.Row(k, v, s));
      if (i % 3 == 0) {  // every third row retracted later, as an update
        Process(in.Row(k, v, s, "-U"));
        Process(in.Row(k, v + 1, s, "+U"));
      }
      if (i % 500 == 499) {
        auto flushed = Flush();
        all.insert(all.end(), flushed.begin(), flushed.end());
      }
    }
    for (int64_t k = 0; k < 17; k += 4) {  // drain some keys: retract all their rows
      for (int64_t i = 0; i < 3000; ++i) {
        if (i % 17 != k) continue;
        int64_t v = (i * 7919) % 101 + (i % 3 == 0 ? 1 : 0);
        Process(in.Row(k, v, "s" + std::to_string(i % 13), "-D"));
      }
    }
    ASSERT_TRUE(op_->Finish(*sink_).ok());
    ASSERT_TRUE(op_->failure().ok()) << op_->failure().ToString();
    Rows rest = sink_->Take();
    all.insert(all.end(), rest.begin(), rest.end());
    results[buffered] = materialize(all);
    if (GetParam() == "memory") {  // RocksDB only estimates its entries
      EXPECT_GT(StateEntries(), 0u);
    }
  }
  // The live rows' aggregates, computed directly.
  std::map<std::string, std::string> expected;
  for (int64_t k = 0; k < 17; ++k) {
    if (k % 4 == 0) continue;  // drained
    int64_t n = 0, total = 0, lo = INT64_MAX;
    std::string hi;
    std::set<int64_t> vs;
    std::set<std::string> even_names;
    for (int64_t i = k; i < 3000; i += 17) {
      int64_t v = (i * 7919) % 101 + (i % 3 == 0 ? 1 : 0);
      std::string name = "s" + std::to_string(i % 13);
      ++n;
      total += v;
      lo = std::min(lo, v);
      hi = std::max(hi, name);
      vs.insert(v);
      if (v % 2 == 0) even_names.insert(name);
    }
    expected[",\"k\":" + std::to_string(k)] = ",\"n\":" + std::to_string(n) + ",\"total\":" + std::to_string(total) +
                                             ",\"lo\":" + std::to_string(lo) + ",\"hi\":\"" + hi + "\",\"vs\":" +
                                             std::to_string(vs.size()) + ",\"even_names\":" +
                                             std::to_string(even_names.size()) + "}";
  }
  EXPECT_EQ(results[0], expected);
  EXPECT_EQ(results[1], expected);
}

TEST_P(GroupAggregateTest, AGlobalAggregateHasOneGroup) {
  ASSERT_TRUE(Make({{"aggregates", {"count(*) AS n", "sum(v) AS total"}}}, InputSchema(false)).ok());
  EXPECT_EQ(output_.ToString(), "(op STRING NOT NULL, n INT64 NOT NULL, total INT64)");
  Input in(false);
  Process(in.Row(1, 5));
  Process(in.Row(2, 6));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","n":2,"total":11})"));
  Process(in.Row(3, std::nullopt));
  op_->OnProcessingTime(1'000'000, *sink_);  // the clock flushes too
  EXPECT_THAT(sink_->Take(), ElementsAre(R"({"op":"-U","n":2,"total":11})", R"({"op":"+U","n":3,"total":11})"));
  Process(in.Row(3, 1));
  op_->OnProcessingTime(1'000'500, *sink_);  // but at most every second
  EXPECT_TRUE(sink_->rows.empty());
  op_->OnProcessingTime(1'001'000, *sink_);
  EXPECT_EQ(sink_->Take().size(), 2u);
}

TEST_P(GroupAggregateTest, BadAggregatesAreErrorsNamingTheOperatorAndTheText) {
  const std::pair<const char*, const char*> cases[] = {
      {"median(v) AS m", "unknown function 'median'"},
      {"count(DISTINCT *) AS c", "DISTINCT is supported in count(DISTINCT expression) only"},
      {"sum(DISTINCT v) AS c", "DISTINCT is supported in count(DISTINCT expression) only"},
      {"count(*) FILTER (v > 1) AS c", "FILTER must be FILTER (WHERE condition)"},
      {"count(*) FILTER (WHERE v) AS c", "FILTER condition is INT64, not BOOL"},
      {"count(*) FILTER (WHERE nope > 1) AS c", "unknown field 'nope'"},
      {"sum(s) AS c", "sum of STRING is not supported"},
      {"sum(v + 1)", "needs 'AS name'"},
      {"count(*) AS", "expected one name after AS"},
      {"count(*) AS c d", "expected one name after AS"},
      {"count(* AS c", "unbalanced parentheses"},
      {"count", "must look like"},
  };
  for (const auto& [text, problem] : cases) {
    Status catalog = Make({{"aggregates", {text}}}, InputSchema(false));
    EXPECT_EQ(catalog.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(catalog.message(), HasSubstr("operator 'agg'")) << text;
    EXPECT_THAT(catalog.message(), HasSubstr(std::string("aggregate '") + text + "'")) << text;
    EXPECT_THAT(catalog.message(), HasSubstr(problem)) << text;
    // The runtime checks as well, for graphs that skipped the catalog.
    auto op = OperatorRegistry::Builtin().CreateOperator(
        Setup("group-aggregate", {{"aggregates", {text}}}, InputSchema(false)));
    ASSERT_FALSE(op.ok()) << text;
    EXPECT_THAT(op.status().message(), HasSubstr("operator 'agg'")) << text;
    EXPECT_THAT(op.status().message(), HasSubstr(problem)) << text;
  }
  EXPECT_THAT(Make({{"key", {"op"}}, {"aggregates", {"count(*) AS n"}}}, InputSchema(true)).message(),
              HasSubstr("'op' is the input's row kind"));
  EXPECT_THAT(Make({{"key", {"k"}}, {"aggregates", {"count(*) AS k"}}}, InputSchema(false)).message(),
              HasSubstr("'k' is named twice"));
}

// Window aggregates take the same FILTER and count(DISTINCT).
TEST_P(GroupAggregateTest, WindowsFilterAndCountDistinctValues) {
  Schema input = DatagenSchema();  // id, key, value, name, ts
  for (const char* slide : {"10ms", "5ms"}) {
    ASSERT_TRUE(Make({{"time", {"ts"}}, {"size", {"10ms"}}, {"slide", {slide}}, {"key", {"key"}},
                      {"aggregates", {"count(*) AS n", "count(*) FILTER (WHERE value > 2) AS big",
                                      "count(DISTINCT value) AS vals",
                                      "count(DISTINCT value) FILTER (WHERE value < 5) AS small_vals",
                                      "sum(value) FILTER (WHERE name = 'a') AS a_sum"}}},
                     input, "window-aggregate")
                    .ok());
    RowBuilder b(5);
    auto row = [&](int64_t key, int64_t value, const char* name, int64_t ts) {
      b.Reset();
      b.SetInt64(0, 0);
      b.SetInt64(1, key);
      b.SetInt64(2, value);
      b.SetString(3, name);
      b.SetTimestampMillis(4, ts);
      return b.Finish();
    };
    Process(row(1, 3, "a", 1));
    Process(row(1, 3, "b", 2));
    Process(row(1, 1, "a", 3));
    Process(row(1, 7, "b", 6));
    Process(row(2, 4, "a", 8));
    Process(row(1, 1, "a", 12));
    op_->ProcessWatermark(INT64_MAX, *sink_);
    Rows taken = sink_->Take();
    std::multiset<std::string> rows(taken.begin(), taken.end());
    // {"key":k,"window_start":...,"window_end":..., for the window from `start` ms
    auto window = [](int64_t key, int64_t start, const char* aggregates) {
      std::string r = "{\"key\":" + std::to_string(key) + ",\"window_start\":\"";
      AppendTimestamp(start, &r);
      r += "\",\"window_end\":\"";
      AppendTimestamp(start + 10, &r);
      return r + "\"," + aggregates;
    };
    if (std::string(slide) == "10ms") {
      EXPECT_EQ(rows, (std::multiset<std::string>{window(1, 0, R"("n":4,"big":3,"vals":3,"small_vals":2,"a_sum":4})"),
                                                  window(2, 0, R"("n":1,"big":1,"vals":1,"small_vals":1,"a_sum":4})"),
                                                  window(1, 10, R"("n":1,"big":0,"vals":1,"small_vals":1,"a_sum":1})")}));
    } else {
      EXPECT_EQ(rows, (std::multiset<std::string>{window(1, -5, R"("n":3,"big":2,"vals":2,"small_vals":2,"a_sum":4})"),
                                                  window(1, 0, R"("n":4,"big":3,"vals":3,"small_vals":2,"a_sum":4})"),
                                                  window(1, 5, R"("n":2,"big":1,"vals":2,"small_vals":1,"a_sum":1})"),
                                                  window(1, 10, R"("n":1,"big":0,"vals":1,"small_vals":1,"a_sum":1})"),
                                                  window(2, 0, R"("n":1,"big":1,"vals":1,"small_vals":1,"a_sum":4})"),
                                                  window(2, 5, R"("n":1,"big":1,"vals":1,"small_vals":1,"a_sum":4})")}));
    }
    if (GetParam() == "memory") {  // RocksDB only estimates its entries
      EXPECT_EQ(StateEntries(), 0u) << "distinct values go with their windows";
    }
  }
}

// DECIMAL sums keep their scale; averages are DOUBLE at the value's scale.
TEST_P(GroupAggregateTest, DecimalsSumAndAverageAtTheirScale) {
  ASSERT_TRUE(Make({{"aggregates", {"sum(v * 0.5) AS half_sum", "avg(v * 0.5) AS half_mean"}}}, InputSchema(false)).ok());
  Input in(false);
  Process(in.Row(1, 3));
  Process(in.Row(1, 4));
  EXPECT_THAT(Flush(), ElementsAre(R"({"op":"+I","half_sum":3.5,"half_mean":1.75})"));
  Schema input = DatagenSchema();
  ASSERT_TRUE(Make({{"time", {"ts"}}, {"size", {"10ms"}}, {"aggregates", {"avg(value * 0.5) AS half_mean"}}}, input,
                   "window-aggregate")
                  .ok());
  RowBuilder b(5);
  for (int64_t value : {3, 4}) {
    b.Reset();
    b.SetInt64(0, 0);
    b.SetInt64(1, 0);
    b.SetInt64(2, value);
    b.SetString(3, "n");
    b.SetTimestampMillis(4, 1);
    Process(b.Finish());
  }
  op_->ProcessWatermark(INT64_MAX, *sink_);
  ASSERT_EQ(sink_->rows.size(), 1u);
  EXPECT_THAT(sink_->rows[0], HasSubstr(R"("half_mean":1.75})"));
}

TEST_P(GroupAggregateTest, WindowsRejectWhatTheyCannotDo) {
  Schema input = DatagenSchema();
  EXPECT_THAT(Make({{"time", {"ts"}}, {"gap", {"10ms"}}, {"aggregates", {"count(DISTINCT value) AS v"}}}, input,
                   "window-aggregate")
                  .message(),
              HasSubstr("DISTINCT is not supported in session windows"));
  EXPECT_THAT(Make({{"time", {"ts"}}, {"size", {"10ms"}}, {"aggregates", {"max(name) AS v"}}}, input,
                   "window-aggregate")
                  .message(),
              HasSubstr("min/max of STRING is supported by group-aggregate only"));
  OperatorSetup setup = Setup("window-aggregate", {{"time", {"ts"}}, {"gap", {"10ms"}},
                                                   {"aggregates", {"count(DISTINCT value) AS v"}}}, input);
  EXPECT_THAT(OperatorRegistry::Builtin().CreateOperator(setup).status().message(),
              HasSubstr("DISTINCT is not supported in session windows"));
}

}  // namespace
}  // namespace sluice
