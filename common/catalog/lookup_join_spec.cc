#include "common/catalog/lookup_join_spec.h"

#include "common/catalog/file_source_spec.h"
#include "common/catalog/join_spec.h"
#include "common/expr/expression.h"

namespace sluice {

Result<LookupJoinSpec> ParseLookupJoin(const OperatorOptions& o, const Schema& input) {
  LookupJoinSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.path, o.GetString("path"));
  SLUICE_ASSIGN_OR_RETURN(spec.side, ParseColumns(o));
  SLUICE_ASSIGN_OR_RETURN(std::string lookup_key, o.GetString("lookup-key"));
  auto index = spec.side.IndexOf(lookup_key);
  if (!index) return Status::InvalidArgument("'lookup-key': '" + lookup_key + "' is not one of 'columns'");
  spec.lookup_key = *index;
  SLUICE_ASSIGN_OR_RETURN(spec.key, o.GetString("key"));
  auto key = CompileExpression(spec.key, input);
  if (!key.ok()) return key.status().WithPrefix("'key'");
  FieldType side_type = spec.side.field(spec.lookup_key).type;
  bool both_strings = (*key)->type() == FieldType::kString && side_type == FieldType::kString;
  bool both_integers = (*key)->type() == FieldType::kInt64 && side_type == FieldType::kInt64;
  if (!both_strings && !both_integers) {
    return Status::InvalidArgument("'key' and 'lookup-key' must both be BIGINT or both STRING");
  }
  spec.output = JoinedSchema(input, spec.side);
  return spec;
}

OperatorSignature LookupJoinSignature() {
  OperatorSignature sig;
  sig.type = "lookup-join";
  sig.description = "Joins each row to the rows of a bounded CSV side input with an equal key (loaded whole).";
  sig.options = {
      {"path", true, "The side input: a CSV file without header, on every worker (${job-dir} is the job file's "
                     "directory)."},
      {"columns", true, "The side input's columns, e.g. [key BIGINT, value STRING]."},
      {"lookup-key", true, "The side input's column to match."},
      {"key", true, "Expression over the input row giving the value to look up."},
  };
  sig.infer_output = OutputOf(&ParseLookupJoin);
  // The input's fields come first, under their own names.
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

}  // namespace sluice
