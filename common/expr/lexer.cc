#include "common/expr/lexer.h"

#include <array>
#include <cctype>

namespace sluice::expr {
namespace {

bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || std::isdigit(c); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpaces();
      Token token;
      token.offset = pos_;
      token.column = ColumnAt(pos_);
      if (pos_ >= text_.size()) {
        token.end = pos_;
        tokens.push_back(std::move(token));
        return tokens;
      }
      Status status = Next(&token);
      if (!status.ok()) return status;
      token.end = pos_;
      tokens.push_back(std::move(token));
    }
  }

 private:
  void SkipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  // Columns count code points, so multi-byte text before an error does not
  // shift the reported position. Tokens are produced in order, so counting
  // incrementally keeps lexing linear.
  int ColumnAt(size_t offset) {
    for (; counted_ < offset; ++counted_) {
      if ((static_cast<unsigned char>(text_[counted_]) & 0xC0) != 0x80) ++column_;
    }
    return column_;
  }

  Status Next(Token* token) {
    const char c = text_[pos_];
    if (IsDigit(c) || (c == '.' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
      return Number(token);
    }
    if (c == '\'') return Quoted(token, '\'', TokenKind::kString, "string literal");
    if (c == '`') return Quoted(token, '`', TokenKind::kQuotedIdentifier, "quoted name");
    if (IsIdentStart(static_cast<unsigned char>(c))) {
      const size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      token->kind = TokenKind::kIdentifier;
      token->text = std::string(text_.substr(start, pos_ - start));
      return Status::Ok();
    }
    static constexpr std::array<std::string_view, 5> kTwoChar = {"<>", "!=", "<=", ">=", "||"};
    for (std::string_view op : kTwoChar) {
      if (text_.substr(pos_, 2) == op) {
        token->kind = TokenKind::kOperator;
        token->text = std::string(op);
        pos_ += 2;
        return Status::Ok();
      }
    }
    if (std::string_view("+-*/%=<>(),").find(c) != std::string_view::npos) {
      token->kind = TokenKind::kOperator;
      token->text = std::string(1, c);
      ++pos_;
      return Status::Ok();
    }
    std::string shown = c == '"' ? "'\"' (strings use single quotes, names use backquotes)"
                                 : "'" + std::string(1, c) + "'";
    return ErrorAt(token->column, "unexpected character " + shown);
  }

  Status Number(Token* token) {
    const size_t start = pos_;
    bool is_integer = true;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      is_integer = false;
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t exp = pos_ + 1;
      if (exp < text_.size() && (text_[exp] == '+' || text_[exp] == '-')) ++exp;
      if (exp < text_.size() && IsDigit(text_[exp])) {
        is_integer = false;
        pos_ = exp;
        while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      }
    }
    if (pos_ < text_.size() && IsIdentChar(static_cast<unsigned char>(text_[pos_]))) {
      return ErrorAt(token->column, "malformed number '" +
                                        std::string(text_.substr(start, pos_ + 1 - start)) + "'");
    }
    token->kind = is_integer ? TokenKind::kInteger : TokenKind::kNumber;
    token->text = std::string(text_.substr(start, pos_ - start));
    return Status::Ok();
  }

  // A doubled quote character inside stands for itself.
  Status Quoted(Token* token, char quote, TokenKind kind, const char* what) {
    ++pos_;
    std::string value;
    while (true) {
      if (pos_ >= text_.size()) return ErrorAt(token->column, std::string("unterminated ") + what);
      const char c = text_[pos_++];
      if (c == quote) {
        if (pos_ < text_.size() && text_[pos_] == quote) {
          value.push_back(quote);
          ++pos_;
          continue;
        }
        break;
      }
      value.push_back(c);
    }
    if (kind == TokenKind::kQuotedIdentifier && value.empty()) {
      return ErrorAt(token->column, "empty quoted name");
    }
    token->kind = kind;
    token->text = std::move(value);
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t counted_ = 0;
  int column_ = 1;
};

}  // namespace

bool Token::IsKeyword(std::string_view keyword) const {
  return kind == TokenKind::kIdentifier && EqualsIgnoreCase(text, keyword);
}

Status ErrorAt(int column, const std::string& message) {
  return Status::InvalidArgument("at column " + std::to_string(column) + ": " + message);
}

bool IsReservedWord(std::string_view word) {
  static constexpr std::array<std::string_view, 17> kReserved = {
      "AND", "OR",   "NOT",  "IS",   "NULL", "TRUE", "FALSE", "BETWEEN", "IN",
      "LIKE", "CASE", "WHEN", "THEN", "ELSE", "END",  "CAST",  "AS"};
  for (std::string_view r : kReserved) {
    if (EqualsIgnoreCase(word, r)) return true;
  }
  return false;
}

Result<std::vector<Token>> Tokenize(std::string_view text) { return Lexer(text).Run(); }

}  // namespace sluice::expr
