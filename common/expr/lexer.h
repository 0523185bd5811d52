// Tokens of the expression language (see expression.h for the grammar).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::expr {

enum class TokenKind {
  kEnd,
  kIdentifier,        // bare word, keywords included; text as written
  kQuotedIdentifier,  // `any name`; text unquoted
  kInteger,           // digits only; text as written
  kNumber,            // with a point or an exponent; text as written
  kString,            // 'text'; text unescaped
  kOperator,          // + - * / % = <> != < <= > >= || ( ) ,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  size_t offset = 0;  // byte offset of the first character
  size_t end = 0;     // byte offset just past the token
  int column = 1;     // 1-based, counted in code points

  // Case-insensitive keyword test; only bare identifiers are keywords.
  bool IsKeyword(std::string_view keyword) const;
  bool IsOperator(std::string_view op) const {
    return kind == TokenKind::kOperator && text == op;
  }
};

// "at column N: message", the form of every expression error.
Status ErrorAt(int column, const std::string& message);

// Words that cannot be bare field names (backquote them instead).
bool IsReservedWord(std::string_view word);

// The whole text as tokens, ending with one kEnd token.
Result<std::vector<Token>> Tokenize(std::string_view text);

}  // namespace sluice::expr
