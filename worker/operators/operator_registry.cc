#include "worker/operators/operator_registry.h"

#include "worker/operators/calc.h"
#include "worker/operators/datagen_source.h"
#include "worker/operators/file_source.h"
#include "worker/operators/group_aggregate.h"
#include "worker/operators/join.h"
#include "worker/operators/lookup_join.h"
#include "worker/operators/top_n.h"
#include "worker/operators/keyed_count.h"
#include "worker/operators/nexmark_source.h"
#include "worker/operators/sinks.h"
#include "worker/operators/throttle.h"
#include "worker/operators/window_aggregate.h"
#include "worker/operators/window_max.h"

namespace sluice {

OperatorRegistry OperatorRegistry::Builtin() {
  OperatorRegistry r;
  r.AddSource("datagen", &DatagenSource::Create);
  r.AddSource("nexmark", &NexmarkSource::Create);
  r.AddSource("file-source", &FileSource::Create);
  r.AddOperator("calc", &CalcOperator::Create);
  r.AddOperator("keyed-count", &KeyedCountOperator::Create);
  r.AddOperator("throttle", &ThrottleOperator::Create);
  r.AddOperator("window-aggregate", &WindowAggregateOperator::Create);
  r.AddOperator("group-aggregate", &GroupAggregateOperator::Create);
  r.AddOperator("window-max", &WindowMaxOperator::Create);
  r.AddOperator("join", &JoinOperator::Create);
  r.AddOperator("window-join", &JoinOperator::Create);
  r.AddOperator("top-n", &TopNOperator::Create);
  r.AddOperator("lookup-join", &LookupJoinOperator::Create);
  r.AddOperator("file-sink", &FileSink::Create);
  r.AddOperator("print", &PrintSink::Create);
  r.AddOperator("blackhole", &BlackholeSink::Create);
  return r;
}

void OperatorRegistry::AddSource(const std::string& type, SourceFactory factory) {
  sources_[type] = std::move(factory);
}

void OperatorRegistry::AddOperator(const std::string& type, OperatorFactory factory) {
  operators_[type] = std::move(factory);
}

bool OperatorRegistry::Has(const std::string& type) const {
  return sources_.count(type) > 0 || operators_.count(type) > 0;
}

Result<std::unique_ptr<SourceOperator>> OperatorRegistry::CreateSource(const OperatorSetup& setup) const {
  auto it = sources_.find(setup.type);
  if (it == sources_.end()) {
    return Status::InvalidArgument("operator '" + setup.id + "': '" + setup.type + "' is not a source");
  }
  return it->second(setup);
}

Result<std::unique_ptr<Operator>> OperatorRegistry::CreateOperator(const OperatorSetup& setup) const {
  auto it = operators_.find(setup.type);
  if (it == operators_.end()) {
    return Status::InvalidArgument("operator '" + setup.id + "': no runtime for type '" + setup.type + "'");
  }
  return it->second(setup);
}

}  // namespace sluice
