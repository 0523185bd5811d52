#include "common/catalog/aggregate_spec.h"

#include <cctype>
#include <regex>

#include "common/expr/expression.h"

namespace sluice {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  size_t e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool Numeric(FieldType t) {
  return t == FieldType::kInt64 || t == FieldType::kDouble || t == FieldType::kDecimal;
}

}  // namespace

Result<AggregateSpec> ParseAggregate(const std::string& text, const Schema& input) {
  // "<call> AS <name>", the name plain or in backquotes.
  static const std::regex kPattern(R"(^\s*(.*\))\s+[aA][sS]\s+(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, kPattern)) {
    return Status::InvalidArgument("aggregate '" + text + "' must look like max(price) AS name");
  }
  std::string call = Trim(m[1].str());
  std::string name = m[2].str();
  if (name.front() == '`') name = name.substr(1, name.size() - 2);
  size_t open = call.find('(');
  if (open == std::string::npos || call.back() != ')') {
    return Status::InvalidArgument("aggregate '" + text + "' must be a call like max(price) AS name");
  }
  std::string fn = Trim(call.substr(0, open));
  for (char& c : fn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  AggregateSpec spec;
  spec.name = name;
  spec.argument = Trim(call.substr(open + 1, call.size() - open - 2));
  if (fn == "count") spec.function = AggregateFunction::kCount;
  else if (fn == "sum") spec.function = AggregateFunction::kSum;
  else if (fn == "min") spec.function = AggregateFunction::kMin;
  else if (fn == "max") spec.function = AggregateFunction::kMax;
  else if (fn == "avg") spec.function = AggregateFunction::kAvg;
  else return Status::InvalidArgument("aggregate '" + text + "': unknown function '" + fn + "' (count, sum, min, max, avg)");

  if (spec.function == AggregateFunction::kCount) {
    if (spec.argument == "*") spec.argument.clear();
    if (!spec.argument.empty()) {
      auto e = CompileExpression(spec.argument, input);
      if (!e.ok()) return e.status().WithPrefix("aggregate '" + text + "'");
    }
    spec.output = {spec.name, FieldType::kInt64, false, 0};
    return spec;
  }
  if (spec.argument.empty() || spec.argument == "*") {
    return Status::InvalidArgument("aggregate '" + text + "': " + fn + " needs an argument");
  }
  auto e = CompileExpression(spec.argument, input);
  if (!e.ok()) return e.status().WithPrefix("aggregate '" + text + "'");
  FieldType t = (*e)->type();
  bool ok = Numeric(t) || ((spec.function == AggregateFunction::kMin || spec.function == AggregateFunction::kMax) &&
                           t == FieldType::kTimestamp);
  if (!ok) {
    return Status::InvalidArgument("aggregate '" + text + "': " + fn + " of " + std::string(FieldTypeName(t)) +
                                   " is not supported");
  }
  // Like SQL, sum/min/max of no non-NULL value is NULL.
  if (spec.function == AggregateFunction::kAvg) {
    spec.output = {spec.name, FieldType::kDouble, true, 0};
  } else if (t == FieldType::kDecimal) {
    spec.output = {spec.name, FieldType::kDecimal, true, (*e)->scale()};
  } else {
    spec.output = {spec.name, t, true, 0};
  }
  return spec;
}

}  // namespace sluice
