// Arithmetic. Division or modulo by zero yields NULL instead of failing the
// job (Flink raises an error there; a stream processor should not die on one
// bad record, and NULL is what most SQL engines return in lenient mode).
// INT64 overflow wraps like Java's long; DECIMAL overflow yields NULL, as
// Flink does for decimals that exceed their precision.
#include <cmath>

#include "common/expr/lexer.h"
#include "common/expr/node.h"

namespace sluice::expr {
namespace {

enum class ArithKind { kInt, kDouble, kDecimal };

class ArithNode final : public Node {
 public:
  ArithNode(char op, ArithKind kind, TypeInfo result, NodePtr left, NodePtr right)
      : Node(result.type, result.scale,
             left->nullable() || right->nullable() || op == '/' || op == '%' ||
                 kind == ArithKind::kDecimal),
        op_(op),
        kind_(kind),
        left_scale_(left->scale()),
        right_scale_(right->scale()),
        left_(std::move(left)),
        right_(std::move(right)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value a = left_->Evaluate(row, ctx);
    if (a.is_null) return Null();
    const Value b = right_->Evaluate(row, ctx);
    if (b.is_null) return Null();
    switch (kind_) {
      case ArithKind::kInt: return EvalInt(a.i, b.i);
      case ArithKind::kDouble: return EvalDouble(a.d, b.d);
      case ArithKind::kDecimal: return EvalDecimal(a.i, b.i);
    }
    return Null();
  }

  std::string ToString() const override {
    return "(" + left_->ToString() + " " + op_ + " " + right_->ToString() + ")";
  }

 private:
  Value EvalInt(int64_t a, int64_t b) const {
    // Unsigned arithmetic wraps without undefined behavior.
    const uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
    switch (op_) {
      case '+': return Int64Value(static_cast<int64_t>(ua + ub));
      case '-': return Int64Value(static_cast<int64_t>(ua - ub));
      case '*': return Int64Value(static_cast<int64_t>(ua * ub));
      case '/':
        if (b == 0) return Null();
        if (b == -1) return Int64Value(static_cast<int64_t>(0 - ua));
        return Int64Value(a / b);
      case '%':
        if (b == 0) return Null();
        if (b == -1) return Int64Value(0);
        return Int64Value(a % b);
    }
    return Null();
  }

  Value EvalDouble(double a, double b) const {
    switch (op_) {
      case '+': return DoubleValue(a + b);
      case '-': return DoubleValue(a - b);
      case '*': return DoubleValue(a * b);
      case '/': return b == 0 ? Null() : DoubleValue(a / b);
      case '%': return b == 0 ? Null() : DoubleValue(std::fmod(a, b));
    }
    return Null();
  }

  Value EvalDecimal(int64_t a, int64_t b) const {
    int128 x = a, y = b, r = 0;
    switch (op_) {
      case '+':
      case '-':
      case '%':
        x *= Pow10Wide(scale_ - left_scale_);
        y *= Pow10Wide(scale_ - right_scale_);
        if (op_ == '%' && y == 0) return Null();
        r = op_ == '+' ? x + y : (op_ == '-' ? x - y : x % y);
        break;
      case '*': {
        r = x * y;  // scale left + right; below 2^126, so no overflow
        const int32_t product_scale = left_scale_ + right_scale_;
        if (product_scale > scale_) r = DivRoundHalfUp(r, Pow10Wide(product_scale - scale_));
        break;
      }
      case '/': {
        if (y == 0) return Null();
        const int32_t shift = scale_ - left_scale_ + right_scale_;
        if (shift <= 19) {  // |x| * 10^19 < 2^127
          r = DivRoundHalfUp(x * Pow10Wide(shift), y);
        } else {
          const long double q = static_cast<long double>(a) / static_cast<long double>(b) *
                                std::pow(10.0L, static_cast<long double>(shift));
          if (!(std::fabs(q) < 9.2e18L)) return Null();
          r = static_cast<int128>(std::llroundl(q));
        }
        break;
      }
    }
    if (!FitsInt64(r)) return Null();
    return DecimalValue(static_cast<int64_t>(r), scale_);
  }

  char op_;
  ArithKind kind_;
  int32_t left_scale_, right_scale_;
  NodePtr left_, right_;
};

class NegateNode final : public Node {
 public:
  explicit NegateNode(NodePtr child)
      : Node(child->type(), child->scale(), child->nullable()), child_(std::move(child)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    Value v = child_->Evaluate(row, ctx);
    if (v.is_null) return v;
    if (type_ == FieldType::kDouble) {
      v.d = -v.d;
    } else {
      v.i = static_cast<int64_t>(0 - static_cast<uint64_t>(v.i));
    }
    return v;
  }
  std::string ToString() const override { return "(-" + child_->ToString() + ")"; }

 private:
  NodePtr child_;
};

}  // namespace

Result<NodePtr> MakeArithmetic(char op, NodePtr left, NodePtr right, int column) {
  if (left->IsUntypedNull() && right->IsUntypedNull()) {
    return MakeLiteral(NullValue(FieldType::kInt64));
  }
  if (left->IsUntypedNull()) left = MakeLiteral(NullValue(right->type(), right->scale()));
  if (right->IsUntypedNull()) right = MakeLiteral(NullValue(left->type(), left->scale()));
  if (!IsNumeric(left->type()) || !IsNumeric(right->type())) {
    return ErrorAt(column, std::string("operator '") + op + "' cannot be applied to " +
                               TypeText(left->type(), left->scale()) + " and " +
                               TypeText(right->type(), right->scale()));
  }
  const FieldType lt = left->type(), rt = right->type();
  if (lt == FieldType::kInt64 && rt == FieldType::kInt64) {
    return NodePtr(std::make_unique<ArithNode>(op, ArithKind::kInt, TypeInfo{FieldType::kInt64, 0},
                                               std::move(left), std::move(right)));
  }
  if (lt == FieldType::kDouble || rt == FieldType::kDouble) {
    const TypeInfo dbl{FieldType::kDouble, 0};
    SLUICE_ASSIGN_OR_RETURN(left, MakeCast(std::move(left), dbl, false, column));
    SLUICE_ASSIGN_OR_RETURN(right, MakeCast(std::move(right), dbl, false, column));
    return NodePtr(std::make_unique<ArithNode>(op, ArithKind::kDouble, dbl, std::move(left),
                                               std::move(right)));
  }
  // DECIMAL with DECIMAL or INT64 (a scale-0 decimal): + - % align the
  // scales, * adds them, / keeps at least 6 digits (as Calcite does).
  const int32_t ls = left->scale(), rs = right->scale();
  int32_t scale = std::max(ls, rs);
  if (op == '*') scale = ls + rs;
  if (op == '/') scale = std::max(scale, 6);
  scale = std::min(scale, kMaxDecimalScale);
  return NodePtr(std::make_unique<ArithNode>(op, ArithKind::kDecimal,
                                             TypeInfo{FieldType::kDecimal, scale},
                                             std::move(left), std::move(right)));
}

Result<NodePtr> MakeNegate(NodePtr operand, int column) {
  if (operand->IsUntypedNull()) return MakeLiteral(NullValue(FieldType::kInt64));
  if (!IsNumeric(operand->type())) {
    return ErrorAt(column, "operator '-' cannot be applied to " +
                               TypeText(operand->type(), operand->scale()));
  }
  return NodePtr(std::make_unique<NegateNode>(std::move(operand)));
}

}  // namespace sluice::expr
