// Entry points of the expression engine. The pipeline: lexer.cc (tokens),
// parser.cc (Ast), compiler.cc with typing.cc, cast.cc, operators.cc,
// logic.cc and functions.cc (type-checked node tree).
#include "common/expr/expression.h"

#include <algorithm>
#include <cctype>

#include "common/expr/lexer.h"
#include "common/expr/node.h"
#include "common/expr/parser.h"

namespace sluice {

char* EvalContext::Allocate(size_t n) {
  // Blocks are kept across Reset() and refilled in order, so a warm context
  // serves every row from memory it already owns.
  while (current_block_ < blocks_.size()) {
    if (block_sizes_[current_block_] - used_ >= n) {
      char* p = blocks_[current_block_].get() + used_;
      used_ += n;
      return p;
    }
    ++current_block_;
    used_ = 0;
  }
  constexpr size_t kFirstBlock = 4096;
  const size_t size = std::max(n, blocks_.empty() ? kFirstBlock : block_sizes_.back() * 2);
  blocks_.push_back(std::unique_ptr<char[]>(new char[size]));
  block_sizes_.push_back(size);
  current_block_ = blocks_.size() - 1;
  used_ = n;
  return blocks_.back().get();
}

Result<std::unique_ptr<CompiledExpression>> CompileExpression(std::string_view text,
                                                              const Schema& input) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<expr::Token> tokens, expr::Tokenize(text));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<expr::Ast> ast, expr::ParseTokens(tokens));
  SLUICE_ASSIGN_OR_RETURN(expr::NodePtr node, expr::CompileAst(*ast, input));
  return std::unique_ptr<CompiledExpression>(std::move(node));
}

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsName(const expr::Token& t) {
  return t.kind == expr::TokenKind::kQuotedIdentifier ||
         (t.kind == expr::TokenKind::kIdentifier && !expr::IsReservedWord(t.text));
}

}  // namespace

Result<SelectItem> ParseSelectItem(std::string_view text) {
  // Working on tokens keeps AS inside string literals, quoted names and
  // CAST(... AS type) (nested in parentheses) from being taken as the alias.
  SLUICE_ASSIGN_OR_RETURN(std::vector<expr::Token> tokens, expr::Tokenize(text));
  size_t as_index = tokens.size();
  int depth = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const expr::Token& t = tokens[i];
    if (t.IsOperator("(")) ++depth;
    if (t.IsOperator(")")) --depth;
    if (depth == 0 && t.IsKeyword("AS")) {
      as_index = i;
      break;
    }
  }

  SelectItem item;
  if (as_index == tokens.size()) {
    item.expression = std::string(TrimSpaces(text));
    if (tokens.size() == 2 && IsName(tokens[0])) {
      item.name = tokens[0].text;
      return item;
    }
    // Report a syntax error first: it is the more useful message.
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<expr::Ast> ast, expr::ParseTokens(tokens));
    (void)ast;
    return Status::InvalidArgument("select item '" + item.expression +
                                   "' needs 'AS name' (only a bare field keeps its name)");
  }

  const expr::Token& as = tokens[as_index];
  if (as_index == 0) return expr::ErrorAt(as.column, "expected an expression before AS");
  // Tokens end with kEnd, so tokens[as_index + 1] always exists.
  const bool has_name = IsName(tokens[as_index + 1]);
  if (!has_name || as_index + 3 != tokens.size()) {
    const expr::Token& bad = tokens[has_name ? as_index + 2 : as_index + 1];
    return expr::ErrorAt(bad.column, "expected one name after AS");
  }
  std::vector<expr::Token> expression_tokens(tokens.begin(), tokens.begin() + as_index);
  expression_tokens.push_back(expr::Token{expr::TokenKind::kEnd, "", as.offset, as.offset, as.column});
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<expr::Ast> ast, expr::ParseTokens(expression_tokens));
  (void)ast;
  item.expression = std::string(TrimSpaces(text.substr(0, as.offset)));
  item.name = tokens[as_index + 1].text;
  return item;
}

void StoreValue(const Value& value, size_t i, RowBuilder& builder) {
  if (value.is_null) {
    builder.SetNull(i);
    return;
  }
  switch (value.type) {
    case FieldType::kBool: builder.SetBool(i, value.b); break;
    case FieldType::kInt64: builder.SetInt64(i, value.i); break;
    case FieldType::kDouble: builder.SetDouble(i, value.d); break;
    case FieldType::kDecimal: builder.SetDecimalUnscaled(i, value.i); break;
    case FieldType::kString: builder.SetString(i, value.str); break;
    case FieldType::kTimestamp: builder.SetTimestampMillis(i, value.i); break;
  }
}

}  // namespace sluice
