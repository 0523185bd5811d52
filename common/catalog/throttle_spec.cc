#include "common/catalog/throttle_spec.h"

namespace sluice {

Result<ThrottleSpec> ParseThrottle(const OperatorOptions& o, const Schema& input) {
  ThrottleSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.rows_per_second, o.GetDouble("rows-per-second", 0));
  if (spec.rows_per_second <= 0) return Status::InvalidArgument("option 'rows-per-second' must be positive");
  spec.output = input;
  return spec;
}

OperatorSignature ThrottleSignature() {
  OperatorSignature sig;
  sig.type = "throttle";
  sig.role = OperatorRole::kTransform;
  sig.description = "Passes rows through at most rows-per-second per subtask.";
  sig.options = {{"rows-per-second", true, "Rate limit of each subtask."}};
  sig.infer_output = OutputOf(&ParseThrottle);
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

}  // namespace sluice
