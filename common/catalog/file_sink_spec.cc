#include "common/catalog/file_sink_spec.h"

namespace sluice {

Result<FileSinkSpec> ParseFileSink(const OperatorOptions& o, const Schema& input) {
  FileSinkSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.path, o.GetString("path"));
  const std::string overwrite = o.GetStringOr("sink.overwrite", "false");
  if (overwrite != "true" && overwrite != "false") {
    return Status::InvalidArgument("option 'sink.overwrite' must be true or false, got '" + overwrite + "'");
  }
  spec.overwrite = overwrite == "true";
  SLUICE_ASSIGN_OR_RETURN(spec.partition_by, FieldIndexes(o, "partition-by", input, "partition field"));
  return spec;
}

OperatorSignature FileSinkSignature() {
  OperatorSignature sig;
  sig.type = "file-sink";
  sig.role = OperatorRole::kSink;
  sig.description = "JSON lines, one file per subtask: <path>/part-<subtask>.jsonl.";
  sig.options = {{"path", true, "Output directory, created if missing; empty = discard rows."},
                 {"partition-by", false, "Fields whose values name subdirectories: <path>/<field>=<value>/..."},
                 {"sink.overwrite", false, "true: delete the part files an earlier run left in 'path' (default "
                                      "false: a job whose 'path' holds files is refused)."}};
  sig.infer_output = OutputOf(&ParseFileSink);
  return sig;
}

}  // namespace sluice
