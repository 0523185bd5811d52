// The parse tree of an expression, before type checking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/records/schema.h"

namespace sluice::expr {

enum class AstKind {
  kLiteral,  // literal_type / int_value / double_value / bool_value / text
  kField,    // text = the field name
  kUnary,    // op = "-" or "NOT"; args = {operand}
  kBinary,   // op = + - * / % || = <> < <= > >= AND OR; args = {left, right}
  kIsNull,   // args = {operand}; negated = IS NOT NULL
  kBetween,  // args = {value, low, high}
  kIn,       // args = {value, item...}
  kLike,     // args = {value, pattern}
  kCase,     // args = {cond, value, cond, value, ..., [else]}; has_else
  kCast,     // args = {operand}; cast_type, cast_scale
  kCall,     // text = lower-cased function name; args
};

// kDecimal: int_value unscaled, cast_scale its scale (an exact literal such
// as 0.908 is DECIMAL(3, 3), as in Flink SQL; 1.5E3 is DOUBLE).
enum class LiteralType { kNull, kBool, kInt64, kDouble, kDecimal, kString, kTimestamp };

struct Ast {
  AstKind kind = AstKind::kLiteral;
  int column = 1;  // where the construct (or its operator) starts
  std::string op;
  std::string text;

  LiteralType literal_type = LiteralType::kNull;
  int64_t int_value = 0;  // INT64 and TIMESTAMP (ms) literals
  double double_value = 0;
  bool bool_value = false;

  bool negated = false;
  bool has_else = false;
  FieldType cast_type = FieldType::kInt64;
  int32_t cast_scale = 0;
  std::vector<std::unique_ptr<Ast>> args;
  int height = 1;  // of the tree below, bounded by the parser

  std::unique_ptr<Ast> Clone() const {
    auto copy = std::make_unique<Ast>();
    copy->kind = kind;
    copy->column = column;
    copy->op = op;
    copy->text = text;
    copy->literal_type = literal_type;
    copy->int_value = int_value;
    copy->double_value = double_value;
    copy->bool_value = bool_value;
    copy->negated = negated;
    copy->has_else = has_else;
    copy->cast_type = cast_type;
    copy->cast_scale = cast_scale;
    copy->height = height;
    for (const auto& arg : args) copy->args.push_back(arg->Clone());
    return copy;
  }

  bool ReadsFields() const {
    if (kind == AstKind::kField) return true;
    for (const auto& arg : args) {
      if (arg->ReadsFields()) return true;
    }
    return false;
  }
};

}  // namespace sluice::expr
