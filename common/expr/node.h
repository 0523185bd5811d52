// Internals of the expression compiler: the base of all compiled nodes and
// the typing helpers shared by operators, casts and functions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/expr/ast.h"
#include "common/expr/expression.h"
#include "common/expr/values.h"

namespace sluice::expr {

class Node : public CompiledExpression {
 public:
  Node(FieldType type, int32_t scale, bool nullable)
      : type_(type), scale_(type == FieldType::kDecimal ? scale : 0), nullable_(nullable) {}

  FieldType type() const final { return type_; }
  int32_t scale() const final { return scale_; }
  bool nullable() const final { return nullable_; }

  // The bare NULL literal, whose type comes from its context.
  virtual bool IsUntypedNull() const { return false; }
  virtual bool IsLiteral() const { return false; }

 protected:
  Value Null() const { return NullValue(type_, scale_); }

  FieldType type_;
  int32_t scale_;
  bool nullable_;
};

using NodePtr = std::unique_ptr<Node>;

struct TypeInfo {
  FieldType type = FieldType::kInt64;
  int32_t scale = 0;
};

inline bool IsNumeric(FieldType t) {
  return t == FieldType::kInt64 || t == FieldType::kDouble || t == FieldType::kDecimal;
}

// "DECIMAL(18, 2)" for decimals, else the plain type name.
std::string TypeText(FieldType type, int32_t scale);

// How two values of one comparison are compared. DECIMAL also takes INT64
// operands (an INT64 value is a decimal of scale 0).
enum class CmpKind { kInt, kBool, kDouble, kDecimal, kString };

// Three-way comparison of two non-NULL values. Doubles order like Java's
// Double.compare except that -0.0 equals 0.0: NaN is above everything.
int Compare3(CmpKind kind, const Value& a, const Value& b);

// A literal of any type; strings are copied into the node.
NodePtr MakeLiteral(const Value& value);
// The untyped NULL literal.
NodePtr MakeUntypedNull();

// The least restrictive type of two operands (numeric widening INT64 <
// DECIMAL < DOUBLE); an untyped NULL adopts the other side. Error if the
// types do not mix.
Result<TypeInfo> CommonType(const Node& a, const Node& b, int column, const std::string& what);
Result<TypeInfo> CommonType(const std::vector<NodePtr>& nodes, int column, const std::string& what);

// Converts a node to `to` if SQL allows that implicitly (numeric widening,
// decimal rescaling, untyped NULL); error otherwise.
Result<NodePtr> Coerce(NodePtr node, TypeInfo to, int column, const std::string& what);

// CAST(node AS to); `explicit_cast` is false for conversions the compiler
// inserts, which then do not show up in ToString().
Result<NodePtr> MakeCast(NodePtr node, TypeInfo to, bool explicit_cast, int column);

// Arithmetic "+ - * / %" with the typing rules of expression.h.
Result<NodePtr> MakeArithmetic(char op, NodePtr left, NodePtr right, int column);

// Unary minus.
Result<NodePtr> MakeNegate(NodePtr operand, int column);

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };

// Logic and predicates; operands are already type-checked and coerced.
NodePtr MakeCompare(CmpOp op, CmpKind kind, NodePtr left, NodePtr right);
NodePtr MakeAnd(NodePtr left, NodePtr right);
NodePtr MakeOr(NodePtr left, NodePtr right);
NodePtr MakeNot(NodePtr operand);
NodePtr MakeIsNull(NodePtr operand, bool negated);
// operands = {value, low, high}
NodePtr MakeBetween(std::vector<NodePtr> operands, CmpKind kind, bool negated);
// operands = {value, item...}
NodePtr MakeIn(std::vector<NodePtr> operands, CmpKind kind, bool negated);
NodePtr MakeLike(NodePtr value, NodePtr pattern, bool negated);
// `otherwise` may be null (no ELSE); all values already have type `type`.
NodePtr MakeCase(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr otherwise,
                 TypeInfo type);

// SQL LIKE: '%' matches any run, '_' one code point; no escape character.
bool LikeMatch(std::string_view text, std::string_view pattern);

// Coerces the operands of a comparison to a comparable form and picks the
// comparison kind.
Result<CmpKind> PrepareComparison(std::vector<NodePtr>& operands, int column, const std::string& what);

// concat(args...), also the "||" operator.
Result<NodePtr> MakeConcat(std::vector<NodePtr> args, const std::vector<int>& columns);

// Type-checks a parsed expression against the input schema.
Result<NodePtr> CompileAst(const Ast& ast, const Schema& input);

// A function call; `args` are already compiled from `call.args`.
Result<NodePtr> CompileCall(const Ast& call, std::vector<NodePtr> args);

// A field name as it must be written in an expression (backquoted if needed).
std::string FieldText(const std::string& name);

// "f(a, b)" for ToString().
std::string CallText(const std::string& name, const std::vector<NodePtr>& args);

}  // namespace sluice::expr
