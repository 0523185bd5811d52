// CAST and the implicit conversions the compiler inserts. A STRING that does
// not parse as the target type casts to NULL (like Flink's TRY_CAST) rather
// than failing the job, and so does a value that overflows a DECIMAL.
#include <charconv>
#include <cmath>

#include "common/expr/lexer.h"
#include "common/expr/node.h"
#include "common/records/row_json.h"

namespace sluice::expr {
namespace {

enum class Conv {
  kIntToDouble, kIntToDecimal, kIntToBool, kIntToString,
  kDoubleToInt, kDoubleToDecimal, kDoubleToBool, kDoubleToString,
  kDecimalToInt, kDecimalToDouble, kDecimalToDecimal, kDecimalToBool, kDecimalToString,
  kBoolToInt, kBoolToDouble, kBoolToDecimal, kBoolToString,
  kStringToInt, kStringToDouble, kStringToDecimal, kStringToBool, kStringToTimestamp,
  kTimestampToString,
};

bool PickConversion(FieldType from, FieldType to, Conv* conv) {
  using T = FieldType;
  struct Entry { T from, to; Conv conv; };
  static constexpr Entry kTable[] = {
      {T::kInt64, T::kDouble, Conv::kIntToDouble},
      {T::kInt64, T::kDecimal, Conv::kIntToDecimal},
      {T::kInt64, T::kBool, Conv::kIntToBool},
      {T::kInt64, T::kString, Conv::kIntToString},
      {T::kDouble, T::kInt64, Conv::kDoubleToInt},
      {T::kDouble, T::kDecimal, Conv::kDoubleToDecimal},
      {T::kDouble, T::kBool, Conv::kDoubleToBool},
      {T::kDouble, T::kString, Conv::kDoubleToString},
      {T::kDecimal, T::kInt64, Conv::kDecimalToInt},
      {T::kDecimal, T::kDouble, Conv::kDecimalToDouble},
      {T::kDecimal, T::kDecimal, Conv::kDecimalToDecimal},
      {T::kDecimal, T::kBool, Conv::kDecimalToBool},
      {T::kDecimal, T::kString, Conv::kDecimalToString},
      {T::kBool, T::kInt64, Conv::kBoolToInt},
      {T::kBool, T::kDouble, Conv::kBoolToDouble},
      {T::kBool, T::kDecimal, Conv::kBoolToDecimal},
      {T::kBool, T::kString, Conv::kBoolToString},
      {T::kString, T::kInt64, Conv::kStringToInt},
      {T::kString, T::kDouble, Conv::kStringToDouble},
      {T::kString, T::kDecimal, Conv::kStringToDecimal},
      {T::kString, T::kBool, Conv::kStringToBool},
      {T::kString, T::kTimestamp, Conv::kStringToTimestamp},
      {T::kTimestamp, T::kString, Conv::kTimestampToString},
  };
  for (const Entry& e : kTable) {
    if (e.from == from && e.to == to) {
      *conv = e.conv;
      return true;
    }
  }
  return false;
}

bool MayFail(Conv conv) {
  switch (conv) {
    case Conv::kIntToDecimal:
    case Conv::kDoubleToDecimal:
    case Conv::kDecimalToDecimal:
    case Conv::kStringToInt:
    case Conv::kStringToDouble:
    case Conv::kStringToDecimal:
    case Conv::kStringToBool:
    case Conv::kStringToTimestamp: return true;
    default: return false;
  }
}

std::string_view CopyToScratch(const char* data, size_t n, EvalContext& ctx) {
  char* out = ctx.Allocate(n);
  std::memcpy(out, data, n);
  return {out, n};
}

// Java's (long) cast: truncation, NaN to 0, saturation at the ends.
int64_t DoubleToInt64(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(d);
}

class CastNode final : public Node {
 public:
  CastNode(NodePtr child, TypeInfo to, Conv conv, bool explicit_cast)
      : Node(to.type, to.scale, child->nullable() || MayFail(conv)),
        child_(std::move(child)),
        conv_(conv),
        explicit_(explicit_cast) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value v = child_->Evaluate(row, ctx);
    if (v.is_null) return Null();
    int64_t i = 0;
    double d = 0;
    bool b = false;
    switch (conv_) {
      case Conv::kIntToDouble: return DoubleValue(static_cast<double>(v.i));
      case Conv::kIntToDecimal:
      case Conv::kDecimalToDecimal:
        if (!RescaleDecimal(v.i, v.scale, scale_, &i)) return Null();
        return DecimalValue(i, scale_);
      case Conv::kIntToBool: return BoolValue(v.i != 0);
      case Conv::kIntToString: {
        char buf[24];
        return StringValue(
            CopyToScratch(buf, std::to_chars(buf, buf + sizeof(buf), v.i).ptr - buf, ctx));
      }
      case Conv::kDoubleToInt: return Int64Value(DoubleToInt64(v.d));
      case Conv::kDoubleToDecimal:
        if (!DoubleToDecimal(v.d, scale_, &i)) return Null();
        return DecimalValue(i, scale_);
      case Conv::kDoubleToBool: return BoolValue(v.d != 0);
      case Conv::kDoubleToString: {
        std::string text;  // rare enough that a short-lived string is fine
        AppendDouble(v.d, &text);
        return StringValue(CopyToScratch(text.data(), text.size(), ctx));
      }
      case Conv::kDecimalToInt: return Int64Value(v.i / kPow10[v.scale]);
      case Conv::kDecimalToDouble: return DoubleValue(DecimalToDouble(v.i, v.scale));
      case Conv::kDecimalToBool: return BoolValue(v.i != 0);
      case Conv::kDecimalToString: {
        char buf[48];
        return StringValue(CopyToScratch(buf, FormatDecimal(v.i, v.scale, buf), ctx));
      }
      case Conv::kBoolToInt: return Int64Value(v.b ? 1 : 0);
      case Conv::kBoolToDouble: return DoubleValue(v.b ? 1 : 0);
      case Conv::kBoolToDecimal: return DecimalValue(v.b ? kPow10[scale_] : 0, scale_);
      case Conv::kBoolToString: return StringValue(v.b ? "TRUE" : "FALSE");
      case Conv::kStringToInt:
        if (!ParseInt64Text(v.str, &i)) return Null();
        return Int64Value(i);
      case Conv::kStringToDouble:
        if (!ParseDoubleText(v.str, &d)) return Null();
        return DoubleValue(d);
      case Conv::kStringToDecimal:
        if (!ParseDecimalText(v.str, scale_, &i)) return Null();
        return DecimalValue(i, scale_);
      case Conv::kStringToBool:
        if (!ParseBoolText(v.str, &b)) return Null();
        return BoolValue(b);
      case Conv::kStringToTimestamp:
        if (!ParseTimestampText(v.str, &i)) return Null();
        return TimestampValue(i);
      case Conv::kTimestampToString: {
        char buf[32];
        return StringValue(CopyToScratch(buf, FormatTimestamp(v.i, buf), ctx));
      }
    }
    return Null();
  }

  std::string ToString() const override {
    if (!explicit_) return child_->ToString();
    return "CAST(" + child_->ToString() + " AS " + TypeText(type_, scale_) + ")";
  }

 private:
  NodePtr child_;
  Conv conv_;
  bool explicit_;
};

}  // namespace

Result<NodePtr> MakeCast(NodePtr node, TypeInfo to, bool explicit_cast, int column) {
  if (to.type != FieldType::kDecimal) to.scale = 0;
  if (node->IsUntypedNull()) return MakeLiteral(NullValue(to.type, to.scale));
  if (node->type() == to.type && node->scale() == to.scale) return node;
  Conv conv;
  if (!PickConversion(node->type(), to.type, &conv)) {
    std::string hint;
    if (node->type() == FieldType::kInt64 && to.type == FieldType::kTimestamp) {
      hint = " (use to_timestamp_ms)";
    }
    return ErrorAt(column, "cannot cast " + TypeText(node->type(), node->scale()) + " to " +
                               TypeText(to.type, to.scale) + hint);
  }
  return NodePtr(std::make_unique<CastNode>(std::move(node), to, conv, explicit_cast));
}

}  // namespace sluice::expr
