// Comparisons and logic with SQL's three-valued semantics: a NULL operand
// makes a comparison NULL (unknown); AND is FALSE if either side is FALSE,
// OR is TRUE if either side is TRUE, otherwise unknown propagates.
#include "common/expr/node.h"

namespace sluice::expr {
namespace {

// Truth values of three-valued logic.
enum class Tri { kFalse, kTrue, kUnknown };

Value TriValue(Tri t) {
  return t == Tri::kUnknown ? NullValue(FieldType::kBool) : BoolValue(t == Tri::kTrue);
}
Tri ToTri(const Value& v) { return v.is_null ? Tri::kUnknown : (v.b ? Tri::kTrue : Tri::kFalse); }
Tri Not(Tri t) { return t == Tri::kUnknown ? t : (t == Tri::kTrue ? Tri::kFalse : Tri::kTrue); }

bool Holds(CmpOp op, int c) {
  switch (op) {
    case CmpOp::kEq: return c == 0;
    case CmpOp::kNe: return c != 0;
    case CmpOp::kLt: return c < 0;
    case CmpOp::kLe: return c <= 0;
    case CmpOp::kGt: return c > 0;
    case CmpOp::kGe: return c >= 0;
  }
  return false;
}

const char* OpText(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "=";
    case CmpOp::kNe: return "<>";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "?";
}

bool AnyNullable(const std::vector<NodePtr>& nodes) {
  for (const NodePtr& n : nodes) {
    if (n->nullable()) return true;
  }
  return false;
}

class CompareNode final : public Node {
 public:
  CompareNode(CmpOp op, CmpKind kind, NodePtr left, NodePtr right)
      : Node(FieldType::kBool, 0, left->nullable() || right->nullable()),
        op_(op), kind_(kind), left_(std::move(left)), right_(std::move(right)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value a = left_->Evaluate(row, ctx);
    if (a.is_null) return Null();
    const Value b = right_->Evaluate(row, ctx);
    if (b.is_null) return Null();
    return BoolValue(Holds(op_, Compare3(kind_, a, b)));
  }
  std::string ToString() const override {
    return "(" + left_->ToString() + " " + OpText(op_) + " " + right_->ToString() + ")";
  }

 private:
  CmpOp op_;
  CmpKind kind_;
  NodePtr left_, right_;
};

class AndOrNode final : public Node {
 public:
  AndOrNode(bool is_and, NodePtr left, NodePtr right)
      : Node(FieldType::kBool, 0, left->nullable() || right->nullable()),
        is_and_(is_and), left_(std::move(left)), right_(std::move(right)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    // The deciding value (FALSE for AND, TRUE for OR) short-circuits.
    const Tri decisive = is_and_ ? Tri::kFalse : Tri::kTrue;
    const Tri a = ToTri(left_->Evaluate(row, ctx));
    if (a == decisive) return TriValue(a);
    const Tri b = ToTri(right_->Evaluate(row, ctx));
    if (b == decisive) return TriValue(b);
    return TriValue(a == Tri::kUnknown || b == Tri::kUnknown ? Tri::kUnknown : a);
  }
  std::string ToString() const override {
    return "(" + left_->ToString() + (is_and_ ? " AND " : " OR ") + right_->ToString() + ")";
  }

 private:
  bool is_and_;
  NodePtr left_, right_;
};

class NotNode final : public Node {
 public:
  explicit NotNode(NodePtr child)
      : Node(FieldType::kBool, 0, child->nullable()), child_(std::move(child)) {}
  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    return TriValue(Not(ToTri(child_->Evaluate(row, ctx))));
  }
  std::string ToString() const override { return "(NOT " + child_->ToString() + ")"; }

 private:
  NodePtr child_;
};

class IsNullNode final : public Node {
 public:
  IsNullNode(NodePtr child, bool negated)
      : Node(FieldType::kBool, 0, false), child_(std::move(child)), negated_(negated) {}
  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    return BoolValue(child_->Evaluate(row, ctx).is_null != negated_);
  }
  std::string ToString() const override {
    return "(" + child_->ToString() + (negated_ ? " IS NOT NULL)" : " IS NULL)");
  }

 private:
  NodePtr child_;
  bool negated_;
};

class BetweenNode final : public Node {
 public:
  BetweenNode(std::vector<NodePtr> operands, CmpKind kind, bool negated)
      : Node(FieldType::kBool, 0, AnyNullable(operands)),
        operands_(std::move(operands)), kind_(kind), negated_(negated) {}

  // x BETWEEN a AND b is x >= a AND x <= b, in three-valued logic.
  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value x = operands_[0]->Evaluate(row, ctx);
    if (x.is_null) return Null();
    const Value low = operands_[1]->Evaluate(row, ctx);
    const Value high = operands_[2]->Evaluate(row, ctx);
    const Tri ge = low.is_null ? Tri::kUnknown
                               : (Compare3(kind_, x, low) >= 0 ? Tri::kTrue : Tri::kFalse);
    const Tri le = high.is_null ? Tri::kUnknown
                                : (Compare3(kind_, x, high) <= 0 ? Tri::kTrue : Tri::kFalse);
    Tri result = Tri::kTrue;
    if (ge == Tri::kFalse || le == Tri::kFalse) {
      result = Tri::kFalse;
    } else if (ge == Tri::kUnknown || le == Tri::kUnknown) {
      result = Tri::kUnknown;
    }
    return TriValue(negated_ ? Not(result) : result);
  }
  std::string ToString() const override {
    return "(" + operands_[0]->ToString() + (negated_ ? " NOT BETWEEN " : " BETWEEN ") +
           operands_[1]->ToString() + " AND " + operands_[2]->ToString() + ")";
  }

 private:
  std::vector<NodePtr> operands_;
  CmpKind kind_;
  bool negated_;
};

class InNode final : public Node {
 public:
  InNode(std::vector<NodePtr> operands, CmpKind kind, bool negated)
      : Node(FieldType::kBool, 0, AnyNullable(operands)),
        operands_(std::move(operands)), kind_(kind), negated_(negated) {}

  // TRUE on a match; otherwise unknown if any item was NULL, else FALSE.
  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value x = operands_[0]->Evaluate(row, ctx);
    if (x.is_null) return Null();
    Tri result = Tri::kFalse;
    for (size_t i = 1; i < operands_.size(); ++i) {
      const Value item = operands_[i]->Evaluate(row, ctx);
      if (item.is_null) {
        result = Tri::kUnknown;
      } else if (Compare3(kind_, x, item) == 0) {
        result = Tri::kTrue;
        break;
      }
    }
    return TriValue(negated_ ? Not(result) : result);
  }
  std::string ToString() const override {
    std::string out = "(" + operands_[0]->ToString() + (negated_ ? " NOT IN (" : " IN (");
    for (size_t i = 1; i < operands_.size(); ++i) {
      if (i > 1) out += ", ";
      out += operands_[i]->ToString();
    }
    return out + "))";
  }

 private:
  std::vector<NodePtr> operands_;
  CmpKind kind_;
  bool negated_;
};

size_t CodePointLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

class LikeNode final : public Node {
 public:
  LikeNode(NodePtr value, NodePtr pattern, bool negated)
      : Node(FieldType::kBool, 0, value->nullable() || pattern->nullable()),
        value_(std::move(value)), pattern_(std::move(pattern)), negated_(negated) {
    if (pattern_->IsLiteral()) Classify();
  }

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    const Value v = value_->Evaluate(row, ctx);
    if (v.is_null) return Null();
    bool match;
    if (shape_ != Shape::kDynamic) {
      match = MatchLiteral(v.str);
    } else {
      const Value p = pattern_->Evaluate(row, ctx);
      if (p.is_null) return Null();
      match = LikeMatch(v.str, p.str);
    }
    return BoolValue(match != negated_);
  }
  std::string ToString() const override {
    return "(" + value_->ToString() + (negated_ ? " NOT LIKE " : " LIKE ") +
           pattern_->ToString() + ")";
  }

 private:
  // Common literal patterns skip the general matcher.
  enum class Shape { kDynamic, kGeneral, kExact, kPrefix, kSuffix, kContains };

  void Classify() {
    EvalContext ctx;
    const Value p = pattern_->Evaluate(RowView(), ctx);
    if (p.is_null) return;  // stays dynamic, which yields NULL
    pattern_text_ = std::string(p.str);
    std::string_view core = pattern_text_;
    const bool leading = !core.empty() && core.front() == '%';
    if (leading) core.remove_prefix(1);
    const bool trailing = !core.empty() && core.back() == '%';
    if (trailing) core.remove_suffix(1);
    if (core.find_first_of("%_") != std::string_view::npos) {
      shape_ = Shape::kGeneral;
      return;
    }
    needle_ = std::string(core);
    shape_ = leading ? (trailing ? Shape::kContains : Shape::kSuffix)
                     : (trailing ? Shape::kPrefix : Shape::kExact);
  }

  bool MatchLiteral(std::string_view s) const {
    switch (shape_) {
      case Shape::kExact: return s == needle_;
      case Shape::kPrefix: return s.substr(0, needle_.size()) == needle_;
      case Shape::kSuffix:
        return s.size() >= needle_.size() && s.substr(s.size() - needle_.size()) == needle_;
      case Shape::kContains: return s.find(needle_) != std::string_view::npos;
      default: return LikeMatch(s, pattern_text_);
    }
  }

  NodePtr value_, pattern_;
  bool negated_;
  Shape shape_ = Shape::kDynamic;
  std::string pattern_text_;
  std::string needle_;
};

class CaseNode final : public Node {
 public:
  CaseNode(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr otherwise,
           TypeInfo type)
      : Node(type.type, type.scale,
             otherwise == nullptr || otherwise->nullable() || AnyNullable(values)),
        conditions_(std::move(conditions)), values_(std::move(values)),
        otherwise_(std::move(otherwise)) {}

  Value Evaluate(const RowView& row, EvalContext& ctx) const override {
    for (size_t i = 0; i < conditions_.size(); ++i) {
      const Value c = conditions_[i]->Evaluate(row, ctx);
      if (!c.is_null && c.b) return values_[i]->Evaluate(row, ctx);
    }
    return otherwise_ != nullptr ? otherwise_->Evaluate(row, ctx) : Null();
  }
  std::string ToString() const override {
    std::string out = "CASE";
    for (size_t i = 0; i < conditions_.size(); ++i) {
      out += " WHEN " + conditions_[i]->ToString() + " THEN " + values_[i]->ToString();
    }
    if (otherwise_ != nullptr) out += " ELSE " + otherwise_->ToString();
    return out + " END";
  }

 private:
  std::vector<NodePtr> conditions_, values_;
  NodePtr otherwise_;
};

}  // namespace

bool LikeMatch(std::string_view s, std::string_view p) {
  // Greedy matching that backtracks only to the most recent '%': linear in
  // practice and never recursive.
  size_t si = 0, pi = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '%') {
      star_p = ++pi;
      star_s = si;
    } else if (pi < p.size() && p[pi] == '_') {
      si += CodePointLength(static_cast<unsigned char>(s[si]));
      ++pi;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++si;
      ++pi;
    } else if (star_p != std::string_view::npos) {
      star_s += CodePointLength(static_cast<unsigned char>(s[star_s]));
      si = star_s;
      pi = star_p;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size() && si == s.size();
}

NodePtr MakeCompare(CmpOp op, CmpKind kind, NodePtr left, NodePtr right) {
  return std::make_unique<CompareNode>(op, kind, std::move(left), std::move(right));
}
NodePtr MakeAnd(NodePtr left, NodePtr right) {
  return std::make_unique<AndOrNode>(true, std::move(left), std::move(right));
}
NodePtr MakeOr(NodePtr left, NodePtr right) {
  return std::make_unique<AndOrNode>(false, std::move(left), std::move(right));
}
NodePtr MakeNot(NodePtr operand) { return std::make_unique<NotNode>(std::move(operand)); }
NodePtr MakeIsNull(NodePtr operand, bool negated) {
  return std::make_unique<IsNullNode>(std::move(operand), negated);
}
NodePtr MakeBetween(std::vector<NodePtr> operands, CmpKind kind, bool negated) {
  return std::make_unique<BetweenNode>(std::move(operands), kind, negated);
}
NodePtr MakeIn(std::vector<NodePtr> operands, CmpKind kind, bool negated) {
  return std::make_unique<InNode>(std::move(operands), kind, negated);
}
NodePtr MakeLike(NodePtr value, NodePtr pattern, bool negated) {
  return std::make_unique<LikeNode>(std::move(value), std::move(pattern), negated);
}
NodePtr MakeCase(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr otherwise,
                 TypeInfo type) {
  return std::make_unique<CaseNode>(std::move(conditions), std::move(values), std::move(otherwise),
                                    type);
}

}  // namespace sluice::expr
