#include "common/catalog/print_spec.h"

namespace sluice {

Result<PrintSpec> ParsePrint(const OperatorOptions&, const Schema&) { return PrintSpec{}; }

OperatorSignature PrintSignature() {
  OperatorSignature sig;
  sig.type = "print";
  sig.role = OperatorRole::kSink;
  sig.description = "JSON lines on the worker's standard output, prefixed '<subtask>> '.";
  sig.infer_output = OutputOf(&ParsePrint);
  return sig;
}

}  // namespace sluice
