// Literals and the implicit typing rules: common types, coercion and the
// preparation of comparisons.
#include <cctype>
#include <cmath>

#include "common/expr/lexer.h"
#include "common/expr/node.h"
#include "common/records/row_json.h"

namespace sluice::expr {
namespace {

class LiteralNode final : public Node {
 public:
  explicit LiteralNode(const Value& value, bool untyped = false)
      : Node(value.type, value.scale, value.is_null), value_(value), untyped_(untyped) {
    if (value.type == FieldType::kString && !value.is_null) {
      text_ = std::string(value.str);
      value_.str = text_;  // the node owns the bytes; it never moves
    }
  }

  Value Evaluate(const RowView&, EvalContext&) const override { return value_; }
  bool IsUntypedNull() const override { return untyped_; }
  bool IsLiteral() const override { return true; }

  std::string ToString() const override {
    if (value_.is_null) return "NULL";
    switch (value_.type) {
      case FieldType::kBool: return value_.b ? "TRUE" : "FALSE";
      case FieldType::kInt64: return std::to_string(value_.i);
      case FieldType::kDouble: {
        std::string out;
        AppendDouble(value_.d, &out);
        return out;
      }
      case FieldType::kDecimal: {
        char buf[48];
        std::string digits(buf, FormatDecimal(value_.i, value_.scale, buf));
        // With a fraction the digits read back as the same DECIMAL literal;
        // without one they would read as BIGINT.
        if (value_.scale > 0) return digits;
        return "CAST(" + digits + " AS " + TypeText(type_, scale_) + ")";
      }
      case FieldType::kString: {
        std::string out = "'";
        for (char c : text_) {
          out += c;
          if (c == '\'') out += '\'';
        }
        return out + "'";
      }
      case FieldType::kTimestamp: {
        char buf[32];
        return "TIMESTAMP '" + std::string(buf, FormatTimestamp(value_.i, buf)) + "'";
      }
    }
    return "?";
  }

 private:
  Value value_;
  std::string text_;
  bool untyped_;
};

int Rank(FieldType t) {
  switch (t) {
    case FieldType::kInt64: return 0;
    case FieldType::kDecimal: return 1;
    case FieldType::kDouble: return 2;
    default: return -1;
  }
}

}  // namespace

std::string TypeText(FieldType type, int32_t scale) {
  if (type == FieldType::kDecimal) return "DECIMAL(18, " + std::to_string(scale) + ")";
  return std::string(FieldTypeName(type));
}

std::string FieldText(const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
               !IsReservedWord(name);
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') plain = false;
  }
  if (plain) return name;
  std::string out = "`";
  for (char c : name) {
    out += c;
    if (c == '`') out += '`';
  }
  return out + "`";
}

std::string CallText(const std::string& name, const std::vector<NodePtr>& args) {
  std::string out = name + "(";
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ", ";
    out += args[i]->ToString();
  }
  return out + ")";
}

int Compare3(CmpKind kind, const Value& a, const Value& b) {
  switch (kind) {
    case CmpKind::kInt: return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    case CmpKind::kBool: return static_cast<int>(a.b) - static_cast<int>(b.b);
    case CmpKind::kDouble:
      if (a.d < b.d) return -1;
      if (a.d > b.d) return 1;
      if (a.d == b.d) return 0;
      return std::isnan(a.d) ? (std::isnan(b.d) ? 0 : 1) : -1;
    case CmpKind::kDecimal: return CompareDecimal(a.i, a.scale, b.i, b.scale);
    case CmpKind::kString: {
      const int c = a.str.compare(b.str);  // char_traits<char> compares bytes unsigned
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
  }
  return 0;
}

NodePtr MakeLiteral(const Value& value) { return std::make_unique<LiteralNode>(value); }

NodePtr MakeUntypedNull() {
  return std::make_unique<LiteralNode>(NullValue(FieldType::kInt64), /*untyped=*/true);
}

Result<TypeInfo> CommonType(const Node& a, const Node& b, int column, const std::string& what) {
  if (a.IsUntypedNull()) return TypeInfo{b.type(), b.scale()};
  if (b.IsUntypedNull()) return TypeInfo{a.type(), a.scale()};
  if (a.type() == b.type()) return TypeInfo{a.type(), std::max(a.scale(), b.scale())};
  if (IsNumeric(a.type()) && IsNumeric(b.type())) {
    const FieldType wider = Rank(a.type()) > Rank(b.type()) ? a.type() : b.type();
    return TypeInfo{wider, wider == FieldType::kDecimal ? std::max(a.scale(), b.scale()) : 0};
  }
  return ErrorAt(column, what + " mixes incompatible types " + TypeText(a.type(), a.scale()) +
                             " and " + TypeText(b.type(), b.scale()));
}

Result<TypeInfo> CommonType(const std::vector<NodePtr>& nodes, int column, const std::string& what) {
  // Folding pairwise through a representative node keeps one code path.
  const Node* typed = nullptr;
  TypeInfo result;
  for (const NodePtr& node : nodes) {
    if (node->IsUntypedNull()) continue;
    if (typed == nullptr) {
      typed = node.get();
      result = {node->type(), node->scale()};
      continue;
    }
    LiteralNode probe(NullValue(result.type, result.scale));
    SLUICE_ASSIGN_OR_RETURN(result, CommonType(probe, *node, column, what));
  }
  return result;
}

Result<NodePtr> Coerce(NodePtr node, TypeInfo to, int column, const std::string& what) {
  if (to.type != FieldType::kDecimal) to.scale = 0;
  if (node->IsUntypedNull()) return MakeLiteral(NullValue(to.type, to.scale));
  if (node->type() == to.type && node->scale() == to.scale) return node;
  const bool widening =
      (node->type() == to.type) || (IsNumeric(node->type()) && IsNumeric(to.type) &&
                                    Rank(node->type()) < Rank(to.type));
  if (!widening) {
    return ErrorAt(column, what + " expects " + TypeText(to.type, to.scale) + ", got " +
                               TypeText(node->type(), node->scale()));
  }
  return MakeCast(std::move(node), to, /*explicit_cast=*/false, column);
}

Result<CmpKind> PrepareComparison(std::vector<NodePtr>& operands, int column,
                                  const std::string& what) {
  TypeInfo common;
  const Node* typed = nullptr;
  for (const NodePtr& node : operands) {
    if (node->IsUntypedNull()) continue;
    if (typed != nullptr) {
      const bool comparable = typed->type() == node->type() ||
                              (IsNumeric(typed->type()) && IsNumeric(node->type()));
      if (!comparable) {
        return ErrorAt(column, "cannot compare " + TypeText(typed->type(), typed->scale()) +
                                   " with " + TypeText(node->type(), node->scale()) + " in " +
                                   what);
      }
      if (Rank(node->type()) > Rank(common.type)) common = {node->type(), node->scale()};
    } else {
      typed = node.get();
      common = {node->type(), node->scale()};
    }
  }
  for (NodePtr& node : operands) {
    if (node->IsUntypedNull()) {
      node = MakeLiteral(NullValue(common.type, common.scale));
    } else if (common.type == FieldType::kDouble && node->type() != FieldType::kDouble) {
      SLUICE_ASSIGN_OR_RETURN(node, MakeCast(std::move(node), {FieldType::kDouble, 0}, false, column));
    }
  }
  switch (common.type) {
    case FieldType::kBool: return CmpKind::kBool;
    case FieldType::kDouble: return CmpKind::kDouble;
    case FieldType::kString: return CmpKind::kString;
    case FieldType::kDecimal: return CmpKind::kDecimal;  // INT64 operands are scale-0 decimals
    case FieldType::kInt64:
    case FieldType::kTimestamp: return CmpKind::kInt;
  }
  return CmpKind::kInt;
}

}  // namespace sluice::expr
