#include "coordinator/job_graph_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/test_graphs.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;
using testing::Op;
using testing::SimpleGraph;

class ValidatorTest : public ::testing::Test {
 protected:
  Status Validate(proto::JobGraph g) { return ValidateJobGraph(catalog_, 128, &g); }
  void ExpectInvalid(proto::JobGraph g, const std::string& fragment) {
    Status s = Validate(std::move(g));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(fragment));
  }
  OperatorCatalog catalog_ = OperatorCatalog::Builtin();
};

TEST_F(ValidatorTest, AcceptsAValidChainAndFillsSchemas) {
  proto::JobGraph g = SimpleGraph(2);
  auto* ops = g.mutable_vertices(0)->mutable_operators();
  ops->RemoveLast();
  *ops->Add() = Op("filter", "calc", {{"where", "value > 500"}});
  *ops->Add() = Op("sink", "blackhole");
  ASSERT_TRUE(ValidateJobGraph(catalog_, 128, &g).ok());
  EXPECT_EQ(g.max_parallelism(), 128);
  EXPECT_EQ(g.vertices(0).operators(0).output_schema().fields_size(), 5);
  EXPECT_EQ(g.vertices(0).operators(1).output_schema().fields(2).name(), "value");
}

TEST_F(ValidatorTest, RejectsAnEmptyGraph) { ExpectInvalid(proto::JobGraph(), "no vertices"); }

TEST_F(ValidatorTest, RejectsParallelismZeroNamingTheVertex) {
  ExpectInvalid(SimpleGraph(0), "vertex 'source': parallelism 0 is outside 1..128");
}

TEST_F(ValidatorTest, RejectsParallelismAboveMax) {
  proto::JobGraph g = SimpleGraph(200);
  ExpectInvalid(g, "vertex 'source': parallelism 200 is outside 1..128");
  g.set_max_parallelism(256);
  EXPECT_TRUE(Validate(g).ok());
}

TEST_F(ValidatorTest, RejectsUnknownOperatorNamingVertexAndType) {
  proto::JobGraph g = SimpleGraph(1);
  g.mutable_vertices(0)->mutable_operators(1)->set_type("teleport");
  ExpectInvalid(g, "vertex 'source': operator 'sink': unknown operator type 'teleport'");
}

TEST_F(ValidatorTest, RejectsUnknownOption) {
  proto::JobGraph g = SimpleGraph(1);
  (*g.mutable_vertices(0)->mutable_operators(0)->mutable_options())["speed"].add_values("9");
  ExpectInvalid(g, "operator 'source' (datagen): unknown option 'speed'");
}

TEST_F(ValidatorTest, RejectsMissingRequiredOption) {
  proto::JobGraph g = SimpleGraph(1);
  *g.mutable_vertices(0)->mutable_operators(1) = Op("sink", "file-sink");
  ExpectInvalid(g, "option 'path' is required");
}

TEST_F(ValidatorTest, RejectsBadExpressionNamingTheOperator) {
  proto::JobGraph g = SimpleGraph(1);
  auto* ops = g.mutable_vertices(0)->mutable_operators();
  ops->RemoveLast();
  *ops->Add() = Op("filter", "calc", {{"where", "prize > 5"}});
  *ops->Add() = Op("sink", "blackhole");
  ExpectInvalid(g, "vertex 'source': operator 'filter' (calc)");
  ExpectInvalid(g, "prize");
}

TEST_F(ValidatorTest, RejectsASourceInTheMiddleOfAChain) {
  proto::JobGraph g = SimpleGraph(1);
  auto* ops = g.mutable_vertices(0)->mutable_operators();
  ops->RemoveLast();
  *ops->Add() = Op("again", "datagen");
  *ops->Add() = Op("sink", "blackhole");
  ExpectInvalid(g, "operator 'again' (datagen): a source takes no input");
}

TEST_F(ValidatorTest, RejectsAChainThatDoesNotEndInASink) {
  proto::JobGraph g = SimpleGraph(1);
  g.mutable_vertices(0)->mutable_operators()->RemoveLast();
  ExpectInvalid(g, "vertex 'source': its output goes nowhere");
}

TEST_F(ValidatorTest, RejectsDuplicateVertexIds) {
  proto::JobGraph g = SimpleGraph(1);
  *g.add_vertices() = g.vertices(0);
  ExpectInvalid(g, "vertex id 'source' is used twice");
}

proto::JobGraph TwoVertices() {
  proto::JobGraph g = SimpleGraph(2);
  g.mutable_vertices(0)->mutable_operators()->RemoveLast();
  g.mutable_vertices(0)->mutable_operators()->Add()->CopyFrom(Op("pass", "calc"));
  auto* v = g.add_vertices();
  v->set_id("sink");
  v->set_parallelism(2);
  *v->add_operators() = Op("sink", "blackhole");
  auto* e = g.add_edges();
  e->set_source("source");
  e->set_target("sink");
  return g;
}

TEST_F(ValidatorTest, RejectsADanglingEdge) {
  proto::JobGraph g = TwoVertices();
  g.mutable_edges(0)->set_target("nowhere");
  ExpectInvalid(g, "edge 'source' -> 'nowhere': no vertex 'nowhere'");
}

TEST_F(ValidatorTest, RejectsACycle) {
  proto::JobGraph g = TwoVertices();
  auto* back = g.add_edges();
  back->set_source("sink");
  back->set_target("source");
  ExpectInvalid(g, "is part of a cycle");
}

TEST_F(ValidatorTest, RejectsASelfLoop) {
  proto::JobGraph g = SimpleGraph(1);
  auto* e = g.add_edges();
  e->set_source("source");
  e->set_target("source");
  ExpectInvalid(g, "vertex 'source' is part of a cycle");
}

TEST_F(ValidatorTest, RejectsForwardEdgeBetweenDifferentParallelism) {
  proto::JobGraph g = TwoVertices();
  g.mutable_vertices(1)->set_parallelism(3);
  ExpectInvalid(g, "a FORWARD edge needs equal parallelism on both ends (2 vs 3)");
}

TEST_F(ValidatorTest, RejectsHashEdgeOnAnUnknownKey) {
  proto::JobGraph g = TwoVertices();
  g.mutable_edges(0)->set_partitioning(proto::HASH);
  g.mutable_edges(0)->add_key_fields("colour");
  ExpectInvalid(g, "key field 'colour' is not in");
}

TEST_F(ValidatorTest, RejectsADeclaredSchemaThatDiffersFromTheInferredOne) {
  proto::JobGraph g = SimpleGraph(1);
  auto* f = g.mutable_vertices(0)->mutable_output_schema()->add_fields();
  f->set_name("id");
  f->set_type(proto::STRING);
  ExpectInvalid(g, "vertex 'source': declared output schema");
}

TEST_F(ValidatorTest, AcceptsEdgesAndPropagatesSchemas) {
  proto::JobGraph g = TwoVertices();
  g.mutable_edges(0)->set_partitioning(proto::HASH);
  g.mutable_edges(0)->add_key_fields("key");
  ASSERT_TRUE(Validate(g).ok()) << Validate(g).ToString();
}

TEST_F(ValidatorTest, RejectsAVertexWhoseInputsDiffer) {
  proto::JobGraph g = TwoVertices();
  auto* other = g.add_vertices();
  other->set_id("other");
  other->set_parallelism(2);
  *other->add_operators() = Op("other", "datagen");
  *other->add_operators() = Op("narrow", "calc", {{"select", "id"}});
  auto* e = g.add_edges();
  e->set_source("other");
  e->set_target("sink");
  ExpectInvalid(g, "its inputs have different schemas");
}

void ExpectRefused(const Status& s, const std::string& fragment) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(fragment));
  EXPECT_LT(s.message().size(), 400u) << "an error must not echo the oversized value";
}

TEST(JobLimitsTest, AnOrdinaryJobIsWithinEveryLimit) {
  proto::JobGraph g = SimpleGraph(2);
  (*g.mutable_config())["checkpoint.interval"] = "1s";
  EXPECT_TRUE(CheckJobLimits(g).ok()) << CheckJobLimits(g).ToString();
}

TEST(JobLimitsTest, AHugeNameIsRefusedNamingTheFieldAndTheLimit) {
  proto::JobGraph g = SimpleGraph(1);
  g.set_name(std::string(3 << 20, 'n'));
  ExpectRefused(CheckJobLimits(g), "the job graph is");
  JobLimits generous;
  generous.max_graph_bytes = 8 << 20;
  ExpectRefused(CheckJobLimits(g, generous), "the job name 'nnnn");
  ExpectRefused(CheckJobLimits(g, generous), "(3145728 bytes) is longer than the limit of 1024 bytes");
}

TEST(JobLimitsTest, LongIdsKeysAndValuesAreRefusedSayingWhere) {
  proto::JobGraph g = SimpleGraph(1);
  g.mutable_vertices(0)->set_id(std::string(300, 'v'));
  ExpectRefused(CheckJobLimits(g), "vertex #0: the id 'vvv");
  g = SimpleGraph(1);
  g.mutable_vertices(0)->mutable_operators(1)->set_id(std::string(300, 'o'));
  ExpectRefused(CheckJobLimits(g), "vertex 'source': operator #1: the id");
  g = SimpleGraph(1);
  (*g.mutable_vertices(0)->mutable_operators(0)->mutable_options())[std::string(300, 'k')].add_values("1");
  ExpectRefused(CheckJobLimits(g), "operator 'source': option key 'kkk");
  g = SimpleGraph(1);
  (*g.mutable_vertices(0)->mutable_operators(0)->mutable_options())["events"].set_values(0, std::string(70000, '9'));
  ExpectRefused(CheckJobLimits(g), "operator 'source': option 'events': the value '999");
  ExpectRefused(CheckJobLimits(g), "limit of 65536 bytes");
  g = SimpleGraph(1);
  (*g.mutable_config())["checkpoint.dir"] = std::string(5000, 'd');
  ExpectRefused(CheckJobLimits(g), "job config key 'checkpoint.dir': the value 'ddd");
}

TEST(JobLimitsTest, ManyOptionsOrConfigKeysAreRefusedWithTheCountAndTheLimit) {
  proto::JobGraph g = SimpleGraph(1);
  auto* options = g.mutable_vertices(0)->mutable_operators(0)->mutable_options();
  for (int i = 0; i < 200000; ++i) (*options)["k" + std::to_string(i)].add_values("v");
  ExpectRefused(CheckJobLimits(g), "the job graph is");
  JobLimits generous;
  generous.max_graph_bytes = 64 << 20;
  ExpectRefused(CheckJobLimits(g, generous), "operator 'source' has 200001 options; the limit is 256");
  g = SimpleGraph(1);
  for (int i = 0; i < 200; ++i) (*g.mutable_config())["k" + std::to_string(i)] = "v";
  ExpectRefused(CheckJobLimits(g), "the job config has 200 keys; the limit is 128");
}

TEST(JobConfigTest, AnUnknownKeyIsRefusedNamingItAndTheNearestJobKey) {
  proto::JobGraph g = SimpleGraph(1);
  (*g.mutable_config())["checkpoint.intervall"] = "1s";
  ExpectRefused(ValidateJobConfig(g), "unknown job config key 'checkpoint.intervall' (did you mean 'checkpoint.interval'?");
  g = SimpleGraph(1);
  (*g.mutable_config())["no.such.key"] = "1";
  ExpectRefused(ValidateJobConfig(g), "unknown job config key 'no.such.key'");
}

TEST(JobConfigTest, ADaemonKeyIsRefusedAsOneAJobCannotSet) {
  proto::JobGraph g = SimpleGraph(1);
  (*g.mutable_config())["heartbeat.timeout"] = "1s";
  ExpectRefused(ValidateJobConfig(g), "config key 'heartbeat.timeout' belongs to the daemons' configuration");
  g = SimpleGraph(1);
  (*g.mutable_config())["pipeline.flush-timeout"] = "0";
  EXPECT_TRUE(ValidateJobConfig(g).ok());
}

}  // namespace
}  // namespace sluice
