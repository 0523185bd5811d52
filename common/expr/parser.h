// Pratt parser from tokens to an Ast (grammar and precedence in expression.h).
#pragma once

#include <memory>
#include <vector>

#include "common/expr/ast.h"
#include "common/expr/lexer.h"

namespace sluice::expr {

// Parses all of `tokens` (which end with kEnd) as one expression.
Result<std::unique_ptr<Ast>> ParseTokens(const std::vector<Token>& tokens);

}  // namespace sluice::expr
