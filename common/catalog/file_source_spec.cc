#include "common/catalog/file_source_spec.h"

namespace sluice {

Result<Schema> ParseColumns(const OperatorOptions& o) {
  Schema schema;
  for (const auto& column : o.GetList("columns")) {
    size_t space = column.find(' ');
    if (space == std::string::npos) {
      return Status::InvalidArgument("'columns': '" + column + "' is not 'name TYPE'");
    }
    std::string name = column.substr(0, space);
    int32_t scale = 0;
    auto type = ParseFieldType(column.substr(space + 1), &scale);
    if (!type.ok()) return type.status().WithPrefix("'columns': '" + column + "'");
    if (schema.IndexOf(name)) return Status::InvalidArgument("'columns': '" + name + "' is named twice");
    schema.Add({name, *type, true, scale});
  }
  if (schema.empty()) return Status::InvalidArgument("'columns' must name the CSV columns, e.g. [id BIGINT, name STRING]");
  return schema;
}

Result<FileSourceSpec> ParseFileSource(const OperatorOptions& o) {
  FileSourceSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.path, o.GetString("path"));
  if (spec.path.empty()) return Status::InvalidArgument("'path' must name a file or a directory");
  SLUICE_ASSIGN_OR_RETURN(spec.schema, ParseColumns(o));
  if (o.Has("time")) {
    SLUICE_ASSIGN_OR_RETURN(std::string time, o.GetString("time"));
    auto index = spec.schema.IndexOf(time);
    if (!index) return Status::InvalidArgument("'time': '" + time + "' is not one of 'columns'");
    if (spec.schema.field(*index).type != FieldType::kTimestamp) {
      return Status::InvalidArgument("'time': column '" + time + "' must be a TIMESTAMP");
    }
    spec.time = *index;
  }
  SLUICE_ASSIGN_OR_RETURN(spec.watermark_delay_ms, o.GetDurationMs("watermark-delay", 0));
  if (spec.watermark_delay_ms < 0) return Status::InvalidArgument("'watermark-delay' must not be negative");
  if (o.Has("watermark-delay") && !spec.time) return Status::InvalidArgument("'watermark-delay' needs 'time'");
  const std::string header = o.GetStringOr("header", "false");
  if (header != "true" && header != "false") {
    return Status::InvalidArgument("'header' must be true or false, got '" + header + "'");
  }
  spec.header = header == "true";
  const std::string delimiter = o.GetStringOr("delimiter", ",");
  if (delimiter.size() != 1 || delimiter == "\n" || delimiter == "\r") {
    return Status::InvalidArgument("'delimiter' must be one character (write a tab as \"\\t\"), got '" + delimiter + "'");
  }
  spec.format.delimiter = delimiter[0];
  const std::string quote = o.GetStringOr("quote", "\"");
  if (quote.size() > 1 || quote == delimiter) {
    return Status::InvalidArgument("'quote' must be one character other than the delimiter, or \"\" for none, got '" +
                                   quote + "'");
  }
  spec.format.quote = quote.empty() ? '\0' : quote[0];
  if (o.Has("null-literal")) spec.format.null_literal = o.GetStringOr("null-literal", "");
  return spec;
}

OperatorSignature FileSourceSignature() {
  OperatorSignature sig;
  sig.type = "file-source";
  sig.role = OperatorRole::kSource;
  sig.description = "Reads CSV lines from a file or from every file of a directory (bounded); "
                    "each subtask reads whole files and checkpoints its byte offset.";
  sig.options = {
      {"path", true, "A file, or a directory whose files (not starting with '.') are read."},
      {"columns", true, "The CSV columns, e.g. [id BIGINT, name STRING, ts TIMESTAMP(3)]."},
      {"time", false, "A TIMESTAMP column: the rows' event time; watermarks follow it."},
      {"watermark-delay", false, "How far event time may go back (bounded out-of-orderness; default 0)."},
      {"header", false, "true: the first line of every file names the columns and is skipped (default false)."},
      {"delimiter", false, "The field delimiter, one character (default ',')."},
      {"quote", false, "The quote character around fields holding delimiters (default '\"'; \"\" for none)."},
      {"null-literal", false, "A field reading NULL, e.g. '\\N' (default: only an empty non-STRING field is NULL)."},
  };
  sig.infer_output = [](const std::vector<Schema>&, const OperatorOptions& o) -> Result<Schema> {
    // Its errors read "operator '<id>': ..." without the type, as they did.
    auto spec = ParseFileSource(o);
    if (!spec.ok()) return NameOperator(o.operator_id(), spec.status());
    return spec->schema;
  };
  return sig;
}

}  // namespace sluice
