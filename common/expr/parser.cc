#include "common/expr/parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "common/expr/values.h"

namespace sluice::expr {
namespace {

// Binding powers, loosest first (expression.h lists the same order).
constexpr int kOr = 1;
constexpr int kAnd = 2;
constexpr int kNot = 3;
constexpr int kCompare = 4;
constexpr int kAdditive = 5;
constexpr int kMultiplicative = 6;

using AstPtr = std::unique_ptr<Ast>;

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd: return "end of expression";
    case TokenKind::kString: return "'" + t.text + "'";
    case TokenKind::kQuotedIdentifier: return "`" + t.text + "`";
    default: return "'" + t.text + "'";
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Result<AstPtr> ParseAll() {
    SLUICE_ASSIGN_OR_RETURN(AstPtr ast, Parse(0));
    if (Peek().kind != TokenKind::kEnd) {
      return ErrorAt(Peek().column, "unexpected " + Describe(Peek()));
    }
    return ast;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  Status Expect(std::string_view op) {
    if (!Peek().IsOperator(op)) {
      return ErrorAt(Peek().column, "expected '" + std::string(op) + "', got " + Describe(Peek()));
    }
    Take();
    return Status::Ok();
  }
  Status ExpectKeyword(std::string_view keyword) {
    if (!Peek().IsKeyword(keyword)) {
      return ErrorAt(Peek().column,
                     "expected " + std::string(keyword) + ", got " + Describe(Peek()));
    }
    Take();
    return Status::Ok();
  }

  static AstPtr Node(AstKind kind, int column) {
    auto ast = std::make_unique<Ast>();
    ast->kind = kind;
    ast->column = column;
    return ast;
  }

  // Binding power of the infix construct at the cursor, 0 if none.
  int InfixPower() const {
    const Token& t = Peek();
    if (t.IsKeyword("OR")) return kOr;
    if (t.IsKeyword("AND")) return kAnd;
    if (t.IsKeyword("IS") || t.IsKeyword("BETWEEN") || t.IsKeyword("IN") || t.IsKeyword("LIKE")) {
      return kCompare;
    }
    if (t.IsKeyword("NOT")) {
      const Token& next = Peek(1);
      if (next.IsKeyword("BETWEEN") || next.IsKeyword("IN") || next.IsKeyword("LIKE")) return kCompare;
      return 0;
    }
    if (t.kind != TokenKind::kOperator) return 0;
    if (t.text == "=" || t.text == "<>" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
        t.text == ">" || t.text == ">=") {
      return kCompare;
    }
    if (t.text == "+" || t.text == "-" || t.text == "||") return kAdditive;
    if (t.text == "*" || t.text == "/" || t.text == "%") return kMultiplicative;
    return 0;
  }

  // Compiling, evaluating and destroying trees recurse, so the nesting of
  // parentheses and the height of operator chains are both bounded.
  static constexpr int kMaxNesting = 256;

  Status CheckHeight(Ast& node) {
    for (const auto& arg : node.args) node.height = std::max(node.height, arg->height + 1);
    if (node.height > kMaxNesting) {
      return ErrorAt(node.column, "expression nested too deeply (more than " +
                                      std::to_string(kMaxNesting) + " levels)");
    }
    return Status::Ok();
  }

  Result<AstPtr> Parse(int min_power) {
    if (++depth_ > kMaxNesting) {
      return ErrorAt(Peek().column, "expression nested too deeply (more than " +
                                        std::to_string(kMaxNesting) + " levels)");
    }
    SLUICE_ASSIGN_OR_RETURN(AstPtr left, ParsePrefix());
    SLUICE_RETURN_IF_ERROR(CheckHeight(*left));
    while (true) {
      const int power = InfixPower();
      if (power <= min_power) break;
      SLUICE_ASSIGN_OR_RETURN(left, ParseInfix(std::move(left), power));
      SLUICE_RETURN_IF_ERROR(CheckHeight(*left));
    }
    --depth_;
    return left;
  }

  Result<AstPtr> ParseInfix(AstPtr left, int power) {
    const Token& t = Take();
    if (t.IsKeyword("IS")) {
      AstPtr node = Node(AstKind::kIsNull, t.column);
      if (Peek().IsKeyword("NOT")) {
        Take();
        node->negated = true;
      }
      SLUICE_RETURN_IF_ERROR(ExpectKeyword("NULL"));
      node->args.push_back(std::move(left));
      return node;
    }
    bool negated = false;
    const Token* op = &t;
    if (t.IsKeyword("NOT")) {
      negated = true;
      op = &Take();
    }
    if (op->IsKeyword("BETWEEN")) {
      AstPtr node = Node(AstKind::kBetween, op->column);
      node->negated = negated;
      node->args.push_back(std::move(left));
      // Bounds bind tighter than AND, so "x BETWEEN 1 AND 2 AND y" works.
      SLUICE_ASSIGN_OR_RETURN(AstPtr low, Parse(kCompare));
      SLUICE_RETURN_IF_ERROR(ExpectKeyword("AND"));
      SLUICE_ASSIGN_OR_RETURN(AstPtr high, Parse(kCompare));
      node->args.push_back(std::move(low));
      node->args.push_back(std::move(high));
      return node;
    }
    if (op->IsKeyword("IN")) {
      AstPtr node = Node(AstKind::kIn, op->column);
      node->negated = negated;
      node->args.push_back(std::move(left));
      SLUICE_RETURN_IF_ERROR(Expect("("));
      do {
        SLUICE_ASSIGN_OR_RETURN(AstPtr item, Parse(0));
        node->args.push_back(std::move(item));
      } while (Peek().IsOperator(",") && (Take(), true));
      SLUICE_RETURN_IF_ERROR(Expect(")"));
      return node;
    }
    if (op->IsKeyword("LIKE")) {
      AstPtr node = Node(AstKind::kLike, op->column);
      node->negated = negated;
      node->args.push_back(std::move(left));
      SLUICE_ASSIGN_OR_RETURN(AstPtr pattern, Parse(kCompare));
      node->args.push_back(std::move(pattern));
      return node;
    }
    AstPtr node = Node(AstKind::kBinary, t.column);
    node->op = t.kind == TokenKind::kOperator ? t.text : Lower(t.text) == "and" ? "AND" : "OR";
    if (node->op == "!=") node->op = "<>";
    SLUICE_ASSIGN_OR_RETURN(AstPtr right, Parse(power));
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  // "12.345" -> 12345, scale 3, when it has no exponent and fits 18 digits
  // (DECIMAL's int64 holds 18 exactly); otherwise it is a DOUBLE.
  static bool ExactDecimal(const std::string& text, int64_t* unscaled, int32_t* scale) {
    size_t dot = text.find('.');
    if (dot == std::string::npos || text.find_first_of("eE") != std::string::npos) return false;
    std::string digits = text.substr(0, dot) + text.substr(dot + 1);
    size_t first = digits.find_first_not_of('0');
    if (digits.empty() || digits.size() - (first == std::string::npos ? digits.size() : first) > 18) return false;
    int64_t v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *unscaled = v;
    *scale = static_cast<int32_t>(text.size() - dot - 1);
    return *scale <= 18;
  }

  Result<AstPtr> ParsePrefix() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kEnd:
        return ErrorAt(t.column, "expected an expression, got end of expression");
      case TokenKind::kInteger: return IntegerLiteral(Take(), false);
      case TokenKind::kNumber: {
        const Token& tok = Take();
        AstPtr node = Node(AstKind::kLiteral, tok.column);
        if (ExactDecimal(tok.text, &node->int_value, &node->cast_scale)) {
          node->literal_type = LiteralType::kDecimal;
          return node;
        }
        node->literal_type = LiteralType::kDouble;
        node->double_value = std::strtod(tok.text.c_str(), nullptr);
        return node;
      }
      case TokenKind::kString: {
        const Token& tok = Take();
        AstPtr node = Node(AstKind::kLiteral, tok.column);
        node->literal_type = LiteralType::kString;
        node->text = tok.text;
        return node;
      }
      case TokenKind::kQuotedIdentifier: {
        const Token& tok = Take();
        AstPtr node = Node(AstKind::kField, tok.column);
        node->text = tok.text;
        return node;
      }
      case TokenKind::kOperator: return ParsePrefixOperator();
      case TokenKind::kIdentifier: return ParseWord();
    }
    return ErrorAt(t.column, "unexpected " + Describe(t));
  }

  Result<AstPtr> ParsePrefixOperator() {
    const Token& t = Take();
    if (t.text == "(") {
      SLUICE_ASSIGN_OR_RETURN(AstPtr inner, Parse(0));
      SLUICE_RETURN_IF_ERROR(Expect(")"));
      return inner;
    }
    if (t.text == "-" || t.text == "+") {
      // A sign directly on a number is part of the literal, which also lets
      // -9223372036854775808 through.
      if (t.text == "-" && Peek().kind == TokenKind::kInteger) return IntegerLiteral(Take(), true);
      SLUICE_ASSIGN_OR_RETURN(AstPtr operand, Parse(kMultiplicative));
      if (t.text == "+") return operand;
      if (operand->kind == AstKind::kLiteral && operand->literal_type == LiteralType::kDouble) {
        operand->double_value = -operand->double_value;
        operand->column = t.column;
        return operand;
      }
      if (operand->kind == AstKind::kLiteral && operand->literal_type == LiteralType::kDecimal) {
        operand->int_value = -operand->int_value;
        operand->column = t.column;
        return operand;
      }
      AstPtr node = Node(AstKind::kUnary, t.column);
      node->op = "-";
      node->args.push_back(std::move(operand));
      return node;
    }
    return ErrorAt(t.column, "expected an expression, got " + Describe(t));
  }

  Result<AstPtr> IntegerLiteral(const Token& tok, bool negative) {
    uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), magnitude);
    const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
    if (ec != std::errc() || ptr != tok.text.data() + tok.text.size() || magnitude > limit) {
      return ErrorAt(tok.column, "integer literal " + std::string(negative ? "-" : "") + tok.text +
                                     " is out of the INT64 range");
    }
    AstPtr node = Node(AstKind::kLiteral, tok.column);
    node->literal_type = LiteralType::kInt64;
    node->int_value = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return node;
  }

  Result<AstPtr> ParseWord() {
    const Token& t = Take();
    if (t.IsKeyword("NULL") || t.IsKeyword("TRUE") || t.IsKeyword("FALSE")) {
      AstPtr node = Node(AstKind::kLiteral, t.column);
      node->literal_type = t.IsKeyword("NULL") ? LiteralType::kNull : LiteralType::kBool;
      node->bool_value = t.IsKeyword("TRUE");
      return node;
    }
    if (t.IsKeyword("NOT")) {
      SLUICE_ASSIGN_OR_RETURN(AstPtr operand, Parse(kNot));
      AstPtr node = Node(AstKind::kUnary, t.column);
      node->op = "NOT";
      node->args.push_back(std::move(operand));
      return node;
    }
    if (t.IsKeyword("CASE")) return ParseCase(t);
    if (t.IsKeyword("CAST")) return ParseCast(t);
    if (t.IsKeyword("TIMESTAMP") && Peek().kind == TokenKind::kString) {
      const Token& literal = Take();
      AstPtr node = Node(AstKind::kLiteral, t.column);
      node->literal_type = LiteralType::kTimestamp;
      if (!ParseTimestampText(literal.text, &node->int_value)) {
        return ErrorAt(literal.column, "bad TIMESTAMP literal '" + literal.text +
                                           "' (expected 'yyyy-MM-dd HH:mm:ss.SSS')");
      }
      return node;
    }
    if (Peek().IsOperator("(") && !IsReservedWord(t.text)) return ParseCall(t);
    if (IsReservedWord(t.text)) {
      return ErrorAt(t.column, "expected an expression, got keyword " + Describe(t) +
                                   " (backquote a field with that name)");
    }
    AstPtr node = Node(AstKind::kField, t.column);
    node->text = t.text;
    return node;
  }

  Result<AstPtr> ParseCall(const Token& name) {
    AstPtr node = Node(AstKind::kCall, name.column);
    node->text = Lower(name.text);
    Take();  // (
    if (Peek().IsOperator(")")) {
      Take();
      return node;
    }
    do {
      SLUICE_ASSIGN_OR_RETURN(AstPtr arg, Parse(0));
      node->args.push_back(std::move(arg));
    } while (Peek().IsOperator(",") && (Take(), true));
    SLUICE_RETURN_IF_ERROR(Expect(")"));
    return node;
  }

  // CASE [operand] WHEN ... THEN ... [ELSE ...] END; the simple form (with an
  // operand) becomes the searched form with one "operand = value" per WHEN.
  Result<AstPtr> ParseCase(const Token& case_token) {
    AstPtr node = Node(AstKind::kCase, case_token.column);
    AstPtr operand;
    if (!Peek().IsKeyword("WHEN")) {
      SLUICE_ASSIGN_OR_RETURN(operand, Parse(0));
    }
    if (!Peek().IsKeyword("WHEN")) {
      return ErrorAt(Peek().column, "expected WHEN, got " + Describe(Peek()));
    }
    while (Peek().IsKeyword("WHEN")) {
      const Token& when = Take();
      SLUICE_ASSIGN_OR_RETURN(AstPtr cond, Parse(0));
      if (operand != nullptr) {
        AstPtr eq = Node(AstKind::kBinary, when.column);
        eq->op = "=";
        eq->args.push_back(operand->Clone());
        eq->args.push_back(std::move(cond));
        cond = std::move(eq);
      }
      SLUICE_RETURN_IF_ERROR(ExpectKeyword("THEN"));
      SLUICE_ASSIGN_OR_RETURN(AstPtr value, Parse(0));
      node->args.push_back(std::move(cond));
      node->args.push_back(std::move(value));
    }
    if (Peek().IsKeyword("ELSE")) {
      Take();
      SLUICE_ASSIGN_OR_RETURN(AstPtr otherwise, Parse(0));
      node->args.push_back(std::move(otherwise));
      node->has_else = true;
    }
    SLUICE_RETURN_IF_ERROR(ExpectKeyword("END"));
    return node;
  }

  Result<AstPtr> ParseCast(const Token& cast_token) {
    AstPtr node = Node(AstKind::kCast, cast_token.column);
    SLUICE_RETURN_IF_ERROR(Expect("("));
    SLUICE_ASSIGN_OR_RETURN(AstPtr operand, Parse(0));
    node->args.push_back(std::move(operand));
    SLUICE_RETURN_IF_ERROR(ExpectKeyword("AS"));
    const Token& type_token = Peek();
    if (type_token.kind != TokenKind::kIdentifier) {
      return ErrorAt(type_token.column, "expected a type name, got " + Describe(type_token));
    }
    // Re-assemble "DECIMAL(10, 2)" and let the schema parser judge it.
    std::string type_text = Take().text;
    if (Peek().IsOperator("(")) {
      while (Peek().kind != TokenKind::kEnd && !Peek().IsOperator(")")) type_text += Take().text;
      if (Peek().IsOperator(")")) type_text += Take().text;
    }
    int32_t scale = 0;
    Result<FieldType> type = ParseFieldType(type_text, &scale);
    if (!type.ok()) return ErrorAt(type_token.column, type.status().message());
    node->cast_type = *type;
    node->cast_scale = scale;
    SLUICE_RETURN_IF_ERROR(Expect(")"));
    return node;
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::unique_ptr<Ast>> ParseTokens(const std::vector<Token>& tokens) {
  return Parser(tokens).ParseAll();
}

}  // namespace sluice::expr
