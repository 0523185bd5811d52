// Job graphs for the coordinator's tests.
#pragma once

#include <string>

#include "proto/job.pb.h"

namespace sluice::testing {

inline proto::OperatorSpec Op(const std::string& id, const std::string& type,
                              std::initializer_list<std::pair<std::string, std::string>> options = {}) {
  proto::OperatorSpec op;
  op.set_id(id);
  op.set_type(type);
  for (const auto& [k, v] : options) (*op.mutable_options())[k].add_values(v);
  return op;
}

// One vertex: datagen -> blackhole.
inline proto::JobGraph SimpleGraph(int parallelism, const std::string& events = "100") {
  proto::JobGraph g;
  g.set_name("simple");
  auto* v = g.add_vertices();
  v->set_id("source");
  v->set_parallelism(parallelism);
  *v->add_operators() = Op("source", "datagen", {{"events", events}});
  *v->add_operators() = Op("sink", "blackhole");
  return g;
}

// Two vertices: datagen -> (rebalance) -> blackhole, both at `parallelism`.
inline proto::JobGraph TwoVertexGraph(int parallelism) {
  proto::JobGraph g;
  g.set_name("two");
  auto* source = g.add_vertices();
  source->set_id("source");
  source->set_parallelism(parallelism);
  *source->add_operators() = Op("source", "datagen", {{"events", "100"}});
  auto* sink = g.add_vertices();
  sink->set_id("sink");
  sink->set_parallelism(parallelism);
  *sink->add_operators() = Op("sink", "blackhole");
  auto* e = g.add_edges();
  e->set_source("source");
  e->set_target("sink");
  e->set_partitioning(proto::REBALANCE);
  return g;
}

}  // namespace sluice::testing
