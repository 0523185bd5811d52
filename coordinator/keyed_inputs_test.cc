// Keyed operators above parallelism 1 must get their rows hashed by their
// key; the validator refuses jobs that would emit partial results instead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "client/job_file.h"
#include "coordinator/job_graph_validator.h"

namespace sluice {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class KeyedInputsTest : public ::testing::Test {
 protected:
  // Parses a job file's text as `sluice run -p parallelism` does, then
  // validates it as the coordinator does on submission.
  Status Validate(const std::string& yaml, int parallelism = 0) {
    JobFileOptions options;
    options.default_parallelism = parallelism;
    auto graph = ParseJobYaml(yaml, "job.yaml", options, catalog_);
    if (!graph.ok()) return graph.status();
    return ValidateJobGraph(catalog_, 128, &*graph);
  }
  OperatorCatalog catalog_ = OperatorCatalog::Builtin();
};

constexpr const char* kRebalancedCount = R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - id: count
    type: keyed-count
    key: [key]
    input: {from: gen, partition: rebalance}
  - {id: out, type: blackhole}
)";

TEST_F(KeyedInputsTest, AKeyedOperatorFedRoundRobinIsRefusedNamingItsKeyAndTheFix) {
  Status s = Validate(kRebalancedCount);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("vertex 'count': operator 'count' (keyed-count) is keyed by [key]"),
                                 HasSubstr("rebalanced"), HasSubstr("add `partition: hash, key: [key]` to its input")));
}

TEST_F(KeyedInputsTest, AnyPartitioningIsAcceptedAtParallelismOne) {
  Status s = Validate(kRebalancedCount, 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(KeyedInputsTest, AKeyedOperatorChainedToItsSourceIsRefused) {
  Status s = Validate(R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - {id: windows, type: window-aggregate, time: ts, size: 1s, key: [key], aggregates: ["count(*) AS n"]}
  - {id: out, type: blackhole}
)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("operator 'windows' (window-aggregate) is keyed by [key]"),
                                 HasSubstr("chained from 'gen', is not hashed")));
}

TEST_F(KeyedInputsTest, AnInputHashedByAnotherKeyIsRefused) {
  Status s = Validate(R"(
parallelism: 3
operators:
  - {id: gen, type: datagen, events: 100}
  - id: sums
    type: group-aggregate
    input: {from: gen, partition: hash, key: [id]}
    key: [key]
    aggregates: ["sum(value) AS total"]
  - {id: out, type: blackhole}
)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("operator 'sums' (group-aggregate) is keyed by [key]"),
                                 HasSubstr("is hashed by [id]"), HasSubstr("key: [key]`")));
}

TEST_F(KeyedInputsTest, RowsStayHashedThroughOperatorsThatPassTheKeyOn) {
  // hash by key -> calc renaming it -> top-n by the new name -> keyed-count
  // by it again, all chained at one parallelism.
  Status s = Validate(R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - id: rename
    type: calc
    input: {from: gen, partition: hash, key: [key]}
    select: [id, key AS k, value]
  - {id: best, type: top-n, partition-by: [k], order-by: [value DESC], n: 2}
  - {id: count, type: keyed-count, key: [k]}
  - {id: out, type: blackhole}
)");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(KeyedInputsTest, AKeyComputedAfterTheHashIsRefused) {
  Status s = Validate(R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - id: shift
    type: calc
    input: {from: gen, partition: hash, key: [key]}
    select: [id, "key + 1 AS key"]
  - {id: count, type: keyed-count, key: [key]}
  - {id: out, type: blackhole}
)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("chained from 'shift', is not hashed by any key"));
}

TEST_F(KeyedInputsTest, AKeylessAggregateAboveParallelismOneIsRefused) {
  Status s = Validate(R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - {id: all, type: window-aggregate, time: ts, size: 1s, aggregates: ["count(*) AS n"], input: {from: gen, partition: rebalance}}
  - {id: out, type: blackhole}
)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("operator 'all' (window-aggregate) has no key"),
                                 HasSubstr("`parallelism: 1`")));
}

TEST_F(KeyedInputsTest, AJoinSideNotHashedByItsKeyIsRefusedNamingTheSide) {
  Status s = Validate(R"(
parallelism: 2
operators:
  - {id: left, type: datagen, events: 100}
  - {id: right, type: datagen, events: 100}
  - id: join
    type: join
    inputs:
      - {from: left, partition: hash, key: [key]}
      - {from: right, partition: rebalance}
    left-key: [key]
    right-key: [key]
  - {id: out, type: blackhole}
)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("keyed by [key] (right)"), HasSubstr("from 'right' is rebalanced"),
                                 HasSubstr("to its input (right)")));
}

TEST_F(KeyedInputsTest, EveryShippedExampleValidatesAtEveryParallelism) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(SLUICE_SOURCE_DIR "/examples/jobs")) {
    if (entry.path().extension() != ".yaml") continue;
    for (int p : {0, 1, 2, 3}) {
      JobFileOptions options;
      options.default_parallelism = p;
      auto graph = ParseJobFile(entry.path().string(), options, catalog_);
      ASSERT_TRUE(graph.ok()) << entry.path() << ": " << graph.status().ToString();
      Status s = ValidateJobGraph(catalog_, 128, &*graph);
      EXPECT_TRUE(s.ok()) << entry.path() << " -p " << p << ": " << s.ToString();
    }
  }
}

}  // namespace
}  // namespace sluice
