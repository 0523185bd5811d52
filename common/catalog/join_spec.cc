#include "common/catalog/join_spec.h"

#include "common/catalog/top_n_spec.h"
#include "common/expr/expression.h"

namespace sluice {
namespace {

Result<std::vector<size_t>> Keys(const OperatorOptions& o, const std::string& option, const Schema& side) {
  std::vector<size_t> keys;
  for (const auto& name : o.GetList(option)) {
    auto f = side.IndexOf(name);
    if (!f) return Status::InvalidArgument("'" + option + "': no field '" + name + "' in " + side.ToString());
    keys.push_back(*f);
  }
  return keys;
}

Status CheckTimestamp(const std::string& option, const std::string& text, const Schema& side) {
  auto compiled = CompileExpression(text, side);
  if (!compiled.ok()) return compiled.status().WithPrefix("'" + option + "'");
  if ((*compiled)->type() != FieldType::kTimestamp) {
    return Status::InvalidArgument("'" + option + "' must be a TIMESTAMP expression, '" + text + "' is not");
  }
  return Status::Ok();
}

}  // namespace

Schema JoinedSchema(const Schema& left, const Schema& right) {
  Schema out = left;
  for (const Field& f : right.fields()) {
    Field renamed = f;
    while (out.IndexOf(renamed.name)) renamed.name += "0";
    out.Add(renamed);
  }
  return out;
}

Result<JoinSpec> ParseJoin(const std::string& type, const OperatorOptions& o, const Schema& left,
                           const Schema& right) {
  if (IsChangelogSchema(left) || IsChangelogSchema(right)) {
    return Status::InvalidArgument("joins take insert-only inputs; an input carries 'op' (an updating result)");
  }
  JoinSpec spec;
  spec.window = type == "window-join";
  SLUICE_ASSIGN_OR_RETURN(spec.left_keys, Keys(o, "left-key", left));
  SLUICE_ASSIGN_OR_RETURN(spec.right_keys, Keys(o, "right-key", right));
  if (spec.left_keys.size() != spec.right_keys.size()) {
    return Status::InvalidArgument("'left-key' and 'right-key' must name as many fields");
  }
  if (spec.left_keys.empty() && !spec.window) {
    return Status::InvalidArgument("a join needs 'left-key' and 'right-key'");
  }
  for (size_t i = 0; i < spec.left_keys.size(); ++i) {
    const Field& l = left.field(spec.left_keys[i]);
    const Field& r = right.field(spec.right_keys[i]);
    bool numeric_l = l.type != FieldType::kString && l.type != FieldType::kDouble && l.type != FieldType::kBool;
    bool numeric_r = r.type != FieldType::kString && r.type != FieldType::kDouble && r.type != FieldType::kBool;
    if (l.type != r.type && !(numeric_l && numeric_r)) {
      return Status::InvalidArgument("key fields '" + l.name + "' and '" + r.name + "' have different types");
    }
  }
  if (spec.window) {
    for (const Schema* side : {&left, &right}) {
      auto start = side->IndexOf("window_start");
      auto end = side->IndexOf("window_end");
      if (!start || !end) {
        return Status::InvalidArgument("a window join needs window_start and window_end on both inputs, " +
                                       side->ToString() + " has not");
      }
      (side == &left ? spec.left_keys : spec.right_keys).push_back(*start);
    }
    spec.left_expires = "window_end";
    spec.right_expires = "window_end";
    if (o.Has("left-expires") || o.Has("right-expires")) {
      return Status::InvalidArgument("a window join expires rows at their window's end; drop 'left-expires' and 'right-expires'");
    }
  } else {
    spec.left_expires = o.GetStringOr("left-expires", "");
    spec.right_expires = o.GetStringOr("right-expires", "");
  }
  if (!spec.left_expires.empty()) SLUICE_RETURN_IF_ERROR(CheckTimestamp("left-expires", spec.left_expires, left));
  if (!spec.right_expires.empty()) SLUICE_RETURN_IF_ERROR(CheckTimestamp("right-expires", spec.right_expires, right));
  spec.output = JoinedSchema(left, right);
  spec.where = o.GetStringOr("where", "");
  if (!spec.where.empty()) {
    auto compiled = CompileExpression(spec.where, spec.output);
    if (!compiled.ok()) return compiled.status().WithPrefix("'where'");
    if ((*compiled)->type() != FieldType::kBool) {
      return Status::InvalidArgument("'where' must be a condition, '" + spec.where + "' is not");
    }
  }
  return spec;
}

namespace {

OperatorSignature JoinSignatureOf(const std::string& type) {
  OperatorSignature sig;
  sig.type = type;
  sig.inputs = 2;
  const bool window = type == "window-join";
  sig.description = window ? "Inner join of rows with equal keys in the same window (window_start, window_end); "
                             "state leaves when the window passes."
                           : "Inner equi-join of two inputs; regular (keeps all rows) or, with expiry, an "
                             "interval join whose rows leave state once the watermark passes their expiry.";
  sig.options = {
      {"left-key", !window, "Key fields of the first (left) input."},
      {"right-key", !window, "Key fields of the second (right) input, compared pairwise with left-key."},
      {"where", false, "A further condition over the joined row (right names that clash get '0' appended)."},
  };
  if (!window) {
    sig.options.push_back({"left-expires", false, "TIMESTAMP expression over a left row: the last event time "
                                                  "at which it can match; it leaves state after."});
    sig.options.push_back({"right-expires", false, "The same for right rows."});
  }
  sig.infer_output = [type](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    SLUICE_ASSIGN_OR_RETURN(JoinSpec spec, ParseJoin(type, o, in[0], in[1]));
    return spec.output;
  };
  // Each side is keyed by its key fields (a window join's window is not
  // hashed: the key groups come from the keys alone).
  sig.input_keys = [](const OperatorOptions& o) {
    return std::vector<std::vector<std::string>>{o.GetList("left-key"), o.GetList("right-key")};
  };
  // The left fields come first, under their own names.
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

}  // namespace

OperatorSignature JoinSignature() { return JoinSignatureOf("join"); }

OperatorSignature WindowJoinSignature() { return JoinSignatureOf("window-join"); }

}  // namespace sluice
