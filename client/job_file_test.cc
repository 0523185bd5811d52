#include "client/job_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice {
namespace {

using ::testing::HasSubstr;

class JobFileTest : public ::testing::Test {
 protected:
  Result<proto::JobGraph> Parse(const std::string& yaml, JobFileOptions options = {}) {
    return ParseJobYaml(yaml, "job.yaml", options, catalog_);
  }
  void ExpectError(const std::string& yaml, const std::string& fragment, JobFileOptions options = {}) {
    auto r = Parse(yaml, options);
    ASSERT_FALSE(r.ok()) << "parsed, but expected: " << fragment;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(fragment));
  }
  OperatorCatalog catalog_ = OperatorCatalog::Builtin();
};

constexpr char kPipeline[] = R"(
name: demo
parameters:
  events: 50
  output: /tmp/out
parallelism: 2
operators:
  - id: gen
    type: datagen
    events: ${events}
  - id: pick
    type: calc
    where: value > 10
    select: [id, "value + 1 AS next"]
  - id: out
    type: file-sink
    path: ${output}
)";

TEST_F(JobFileTest, ChainsAPipelineIntoOneVertex) {
  auto g = Parse(kPipeline);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->name(), "demo");
  ASSERT_EQ(g->vertices_size(), 1);
  EXPECT_EQ(g->edges_size(), 0);
  const auto& v = g->vertices(0);
  EXPECT_EQ(v.id(), "gen");
  EXPECT_EQ(v.parallelism(), 2);
  ASSERT_EQ(v.operators_size(), 3);
  EXPECT_EQ(v.operators(0).options().at("events").values(0), "50");
  EXPECT_EQ(v.operators(1).options().at("select").values_size(), 2);
  EXPECT_EQ(v.operators(1).output_schema().fields(1).name(), "next");
  EXPECT_EQ(v.operators(2).options().at("path").values(0), "/tmp/out");
}

TEST_F(JobFileTest, ParametersAndParallelismCanBeOverridden) {
  JobFileOptions o;
  o.parameters = {{"events", "7"}, {"output", "/data/x"}};
  o.default_parallelism = 3;
  auto g = Parse(kPipeline, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->vertices(0).parallelism(), 3);
  EXPECT_EQ(g->vertices(0).operators(0).options().at("events").values(0), "7");
  EXPECT_EQ(g->vertices(0).operators(2).options().at("path").values(0), "/data/x");
}

TEST_F(JobFileTest, AnUndeclaredParameterOverrideIsAnError) {
  JobFileOptions o;
  o.parameters = {{"evnets", "7"}};
  ExpectError(kPipeline, "the job declares no parameter 'evnets' (declared: events, output)", o);
}

TEST_F(JobFileTest, AMisspeltConfigKeyOverrideIsAnUnknownKeyWithTheNearestSuggested) {
  JobFileOptions o;
  o.parameters = {{"checkpoint.intervall", "1s"}};
  ExpectError(kPipeline, "-D checkpoint.intervall=...: unknown job config key 'checkpoint.intervall' "
              "(did you mean 'checkpoint.interval'?", o);
  o.parameters = {{"heartbeat.timeout", "1s"}};
  ExpectError(kPipeline, "config key 'heartbeat.timeout' belongs to the daemons' configuration", o);
  o.parameters = {{"checkpoint.interval", "1s"}};
  auto g = Parse(kPipeline, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->config().at("checkpoint.interval"), "1s");
}

TEST_F(JobFileTest, AnUnknownKeyInTheConfigMapNamesTheNearestJobKey) {
  ExpectError("config:\n  pipeline.flush-timeot: 5ms\noperators:\n  - id: gen\n    type: datagen\n",
              "unknown job config key 'pipeline.flush-timeot' (did you mean 'pipeline.flush-timeout'?");
}

TEST_F(JobFileTest, MalformedYamlNamesTheLine) {
  ExpectError("name: x\nparallelism: 2\n  operators: -\n", "job.yaml:3: malformed YAML");
  ExpectError("name: x\noperators:\n  - id: [unclosed\n", "malformed YAML: end of sequence flow not found");
}

TEST_F(JobFileTest, UnknownOperatorTypeNamesTheOperatorAndLine) {
  ExpectError("operators:\n  - id: gen\n    type: datagen\n  - id: zap\n    type: teleport\n",
              "job.yaml:5: operator 'zap': unknown type 'teleport'");
}

TEST_F(JobFileTest, UnknownOptionNamesTheOperator) {
  ExpectError("operators:\n  - id: gen\n    type: datagen\n    speed: 3\n  - id: out\n    type: blackhole\n",
              "job.yaml:2: operator 'gen' (datagen): unknown option 'speed'");
}

TEST_F(JobFileTest, ACycleIsAnError) {
  ExpectError(R"(
operators:
  - id: a
    type: calc
    input: b
  - id: b
    type: calc
    input: a
)",
              "is part of a cycle");
}

TEST_F(JobFileTest, AnUnknownInputIsAnError) {
  ExpectError("operators:\n  - id: gen\n    type: datagen\n  - id: out\n    type: blackhole\n    input: nothing\n",
              "operator 'out' reads from 'nothing', which is not declared");
}

TEST_F(JobFileTest, ParallelismZeroIsAnError) {
  ExpectError("parallelism: 0\noperators:\n  - id: gen\n    type: datagen\n", "parallelism must be a positive integer");
}

TEST_F(JobFileTest, UnknownTopLevelKeysAndParametersAreErrors) {
  ExpectError("paralelism: 2\noperators: []\n", "unknown key 'paralelism'");
  ExpectError("operators:\n  - id: gen\n    type: datagen\n    events: ${count}\n",
              "unknown parameter '${count}' (declared: none)");
  ExpectError("operators: []\n", "'operators' must be a non-empty list");
  ExpectError("- just\n- a list\n", "a job file must be a YAML map");
}

TEST_F(JobFileTest, ExpressionErrorsNameTheOperator) {
  ExpectError("operators:\n  - id: gen\n    type: datagen\n  - id: f\n    type: calc\n    where: prize > 3\n  - id: out\n    type: blackhole\n",
              "job.yaml:4: operator 'f' (calc)");
}

TEST_F(JobFileTest, HashInputsMakeEdges) {
  auto g = Parse(R"(
parallelism: 2
operators:
  - id: gen
    type: datagen
  - id: out
    type: blackhole
    parallelism: 3
    input: {from: gen, partition: hash, key: [key]}
)");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->vertices_size(), 2);
  ASSERT_EQ(g->edges_size(), 1);
  EXPECT_EQ(g->edges(0).partitioning(), proto::HASH);
  EXPECT_EQ(g->edges(0).key_fields(0), "key");
  EXPECT_EQ(g->vertices(1).parallelism(), 3);
}

TEST_F(JobFileTest, AnInputWithoutPartitioningRebalancesAcrossAParallelismChange) {
  auto g = Parse(R"(
parallelism: 4
operators:
  - id: gen
    type: datagen
    parallelism: 1
  - id: out
    type: blackhole
)");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->edges_size(), 1);
  EXPECT_EQ(g->edges(0).partitioning(), proto::REBALANCE);
  EXPECT_EQ(g->vertices(1).parallelism(), 4);
}

TEST_F(JobFileTest, ATypeSplitAtItsCommaByYamlGetsAHintToQuoteIt) {
  auto g = Parse(R"(
operators:
  - id: files
    type: file-source
    path: /data
    columns: [a DECIMAL(10,2), b INT]
  - {id: out, type: blackhole}
)");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(),
              HasSubstr("job.yaml:6: option 'columns': YAML split 'a DECIMAL(10,2)' at its comma into 'a DECIMAL(10' "
                        "and '2)'; quote the item: \"a DECIMAL(10,2)\""));
  auto quoted = Parse(R"yaml(
operators:
  - id: files
    type: file-source
    path: /data
    columns: ["a DECIMAL(10,2)", b INT]
  - {id: out, type: blackhole}
)yaml");
  EXPECT_TRUE(quoted.ok()) << quoted.status().ToString();
}

TEST_F(JobFileTest, TheShippedExamplesParse) {
  for (const char* name : {"quickstart.yaml", "endless.yaml"}) {
    auto g = ParseJobFile(std::string(SLUICE_SOURCE_DIR "/examples/jobs/") + name, {}, catalog_);
    EXPECT_TRUE(g.ok()) << name << ": " << g.status().ToString();
  }
}

}  // namespace
}  // namespace sluice
