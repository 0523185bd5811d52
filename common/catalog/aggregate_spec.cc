#include "common/catalog/aggregate_spec.h"

#include <cctype>
#include <vector>

#include "common/expr/expression.h"
#include "common/expr/lexer.h"

namespace sluice {
namespace {

using expr::Token;
using expr::TokenKind;

bool Numeric(FieldType t) {
  return t == FieldType::kInt64 || t == FieldType::kDouble || t == FieldType::kDecimal;
}

bool IsName(const Token& t) {
  return t.kind == TokenKind::kQuotedIdentifier || (t.kind == TokenKind::kIdentifier && !expr::IsReservedWord(t.text));
}

// The index of the ")" closing the "(" at tokens[open], or 0 when unbalanced.
// Working on tokens keeps parentheses inside string literals out of the count.
size_t ClosingParen(const std::vector<Token>& tokens, size_t open) {
  int depth = 0;
  for (size_t i = open; i < tokens.size(); ++i) {
    if (tokens[i].IsOperator("(")) ++depth;
    if (tokens[i].IsOperator(")") && --depth == 0) return i;
  }
  return 0;
}

// The source text of tokens [first, last).
std::string Slice(const std::string& text, const std::vector<Token>& tokens, size_t first, size_t last) {
  if (first >= last) return "";
  return text.substr(tokens[first].offset, tokens[last - 1].end - tokens[first].offset);
}

}  // namespace

Result<AggregateSpec> ParseAggregate(const std::string& text, const Schema& input) {
  auto error = [&](const std::string& problem) {
    return Status::InvalidArgument("aggregate '" + text + "': " + problem);
  };
  const std::string shape = "must look like fn([DISTINCT] arg) [FILTER (WHERE condition)] [AS name]";
  auto tokenized = expr::Tokenize(text);
  if (!tokenized.ok()) return tokenized.status().WithPrefix("aggregate '" + text + "'");
  const std::vector<Token>& t = *tokenized;  // ends with kEnd
  if (t.size() < 4 || t[0].kind != TokenKind::kIdentifier || !t[1].IsOperator("(")) return error(shape);
  const size_t close = ClosingParen(t, 1);
  if (close == 0) return error("unbalanced parentheses");

  AggregateSpec spec;
  std::string fn = t[0].text;
  for (char& c : fn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (fn == "count") spec.function = AggregateFunction::kCount;
  else if (fn == "sum") spec.function = AggregateFunction::kSum;
  else if (fn == "min") spec.function = AggregateFunction::kMin;
  else if (fn == "max") spec.function = AggregateFunction::kMax;
  else if (fn == "avg") spec.function = AggregateFunction::kAvg;
  else return error("unknown function '" + fn + "' (count, sum, min, max, avg)");

  size_t first = 2;
  if (first < close && t[first].IsKeyword("DISTINCT")) {
    spec.distinct = true;
    ++first;
  }
  spec.argument = Slice(text, t, first, close);
  const bool star = close == first + 1 && t[first].IsOperator("*");
  if (star) spec.argument.clear();
  const bool field_argument = close == first + 1 && IsName(t[first]);

  size_t next = close + 1;
  if (t[next].IsKeyword("FILTER")) {
    if (!t[next + 1].IsOperator("(") || !t[next + 2].IsKeyword("WHERE")) {
      return error("FILTER must be FILTER (WHERE condition)");
    }
    const size_t filter_close = ClosingParen(t, next + 1);
    if (filter_close == 0) return error("unbalanced parentheses");
    spec.filter = Slice(text, t, next + 3, filter_close);
    if (spec.filter.empty()) return error("FILTER (WHERE ...) needs a condition");
    next = filter_close + 1;
  }
  if (t[next].IsKeyword("AS")) {
    if (!IsName(t[next + 1]) || t[next + 2].kind != TokenKind::kEnd) return error("expected one name after AS");
    spec.name = t[next + 1].text;  // the lexer unquotes `names`
  } else if (t[next].kind != TokenKind::kEnd) {
    return error(shape);
  } else if (star) {
    spec.name = fn;
  } else if (field_argument) {
    spec.name = fn + (spec.distinct ? "_distinct_" : "_") + t[first].text;
  } else {
    return error("an aggregate of an expression needs 'AS name'");
  }

  if (!spec.filter.empty()) {
    auto condition = CompileExpression(spec.filter, input);
    if (!condition.ok()) return condition.status().WithPrefix("aggregate '" + text + "': FILTER");
    if ((*condition)->type() != FieldType::kBool) {
      return error("FILTER condition is " + std::string(FieldTypeName((*condition)->type())) + ", not BOOL");
    }
  }
  if (spec.distinct && (spec.function != AggregateFunction::kCount || star || spec.argument.empty())) {
    return error("DISTINCT is supported in count(DISTINCT expression) only");
  }
  if (star && spec.function != AggregateFunction::kCount) return error(fn + " needs an argument, not *");
  if (spec.argument.empty() && !star) return error(fn + " needs an argument");

  if (spec.function == AggregateFunction::kCount) {
    if (!spec.argument.empty()) {
      auto e = CompileExpression(spec.argument, input);
      if (!e.ok()) return e.status().WithPrefix("aggregate '" + text + "'");
    }
    spec.output = {spec.name, FieldType::kInt64, false, 0};
    return spec;
  }
  auto e = CompileExpression(spec.argument, input);
  if (!e.ok()) return e.status().WithPrefix("aggregate '" + text + "'");
  FieldType type = (*e)->type();
  const bool extreme = spec.function == AggregateFunction::kMin || spec.function == AggregateFunction::kMax;
  if (!Numeric(type) && !(extreme && (type == FieldType::kTimestamp || type == FieldType::kString))) {
    return error(fn + " of " + std::string(FieldTypeName(type)) + " is not supported");
  }
  // Like SQL, sum/min/max/avg of no non-NULL value is NULL.
  // avg keeps an integer argument's type, the quotient truncated, as
  // Flink's AVG(BIGINT) is a BIGINT; of DOUBLE and DECIMAL it is a DOUBLE.
  if (spec.function == AggregateFunction::kAvg) {
    spec.output = {spec.name, type == FieldType::kInt64 ? FieldType::kInt64 : FieldType::kDouble, true, 0};
  } else if (type == FieldType::kDecimal) {
    spec.output = {spec.name, FieldType::kDecimal, true, (*e)->scale()};
  } else {
    spec.output = {spec.name, type, true, 0};
  }
  return spec;
}

}  // namespace sluice
