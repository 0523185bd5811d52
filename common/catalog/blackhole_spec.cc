#include "common/catalog/blackhole_spec.h"

namespace sluice {

Result<BlackholeSpec> ParseBlackhole(const OperatorOptions&, const Schema&) { return BlackholeSpec{}; }

OperatorSignature BlackholeSignature() {
  OperatorSignature sig;
  sig.type = "blackhole";
  sig.role = OperatorRole::kSink;
  sig.description = "Discards every row (for benchmarks).";
  sig.infer_output = OutputOf(&ParseBlackhole);
  return sig;
}

}  // namespace sluice
